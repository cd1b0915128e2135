"""`node` and `nodes`: any object by its global id. An id that names nothing (an unknown type, text that
is no global id, a key that is not an integer or out of the id columns' range, a deleted row) is null,
never an error: graph.ids.node_key decides, so no type's `resolve_nodes` sees such a key."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Sequence
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.relay.types import GlobalIDValueError
from strawberry.types.base import StrawberryObjectDefinition

from graph.context import Info
from graph.ids import node_key
from graph.permissions import IsViewer


def _node_type(info: Info, type_name: str) -> type[relay.Node] | None:
    definition = info.schema.get_type_by_name(type_name)
    if not isinstance(definition, StrawberryObjectDefinition):
        return None
    origin = definition.origin
    return origin if isinstance(origin, type) and issubclass(origin, relay.Node) else None


def _target(info: Info, text: str) -> tuple[type[relay.Node], int] | None:
    try:
        gid = relay.GlobalID.from_id(text)
    except GlobalIDValueError:
        return None
    node_type, key = _node_type(info, gid.type_name), node_key(gid.node_id)
    return None if node_type is None or key is None else (node_type, key)


async def _resolve(node_type: type[relay.Node], info: Info, keys: list[int]) -> Iterable[relay.Node | None]:
    # Node.resolve_nodes may answer at once or be awaited; every type here awaits.
    found = node_type.resolve_nodes(info=info, node_ids=[str(key) for key in keys], required=False)
    return await found if inspect.isawaitable(found) else found


async def resolve_nodes(info: Info, ids: Sequence[str]) -> list[relay.Node | None]:
    """The objects the ids name, in order, null where none; one batch per type."""
    wanted: dict[type[relay.Node], list[tuple[int, int]]] = {}
    for position, text in enumerate(ids):
        target = _target(info, text)
        if target is not None:
            wanted.setdefault(target[0], []).append((position, target[1]))
    found = await asyncio.gather(
        *(_resolve(node_type, info, [key for _, key in pairs]) for node_type, pairs in wanted.items())
    )
    out: list[relay.Node | None] = [None] * len(ids)
    for pairs, nodes in zip(wanted.values(), found, strict=True):
        for (position, _), node in zip(pairs, nodes, strict=True):
            out[position] = node
    return out


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by its global id, or null.", permission_classes=[IsViewer])
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
    ) -> relay.Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(
        description="Objects by their global ids, in order; null where none.", permission_classes=[IsViewer]
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="The IDs of the objects.")],
    ) -> list[relay.Node | None]:
        return await resolve_nodes(info, ids)
