"""What a version CONFLICT shows: the object as it is now, in the shape of its GraphQL type.

One rule for every versioned type (episode annotations, boxes, segments, episode edits, task text):
`extensions.current` is what a query selecting the type's fields would answer (camelCase names, the
type's nesting, the graph's global ids, deprecated fields included while the schema has them), null
when there is none; `extensions.currentVersion` is its `version` (0 or null as the domain says when
there is none). It is built by querying the object through the schema itself, so it cannot drift
from the type. Selected: every field without a required argument; a single other node (the episode,
the label, a user) as `{ id name }` (`name` when it has one); values and lists (an annotation's
anomalies) whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_required_argument,
)
from strawberry import relay

from domain.core.errors import Conflict
from graph.context import Info

# Nesting deeper than this is not a versioned object's own content.
MAX_DEPTH = 4


def selection(schema: GraphQLSchema, type_name: str) -> str:
    """The selection set (without braces) a CONFLICT shows of `type_name`."""
    found = schema.get_type(type_name)
    if not isinstance(found, GraphQLObjectType):
        raise ValueError(f"{type_name} is not an object type")
    return _fields(found, 0)


def _fields(parent: GraphQLObjectType, depth: int) -> str:
    parts = []
    for name, field in parent.fields.items():
        if any(is_required_argument(a) for a in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and depth < MAX_DEPTH:
            is_node = any(i.name == "Node" for i in named.interfaces)
            if is_node and not is_list_type(get_nullable_type(field.type)):
                # Another object it refers to: which one, and the name a client shows or sends back.
                parts.append(f"{name} {{ id{' name' if 'name' in named.fields else ''} }}")
            else:
                parts.append(f"{name} {{ {_fields(named, depth + 1)} }}")
    return " ".join(parts)


def current_query(schema: GraphQLSchema, node_type: str, path: tuple[str, ...], type_name: str) -> str:
    """A query of the object of type `type_name` reached from node `$id` (of `node_type`) by `path`."""
    inner = selection(schema, type_name)
    for name in reversed(path):
        inner = f"{name} {{ {inner} }}"
    return f"query Current($id: ID!) {{ node(id: $id) {{ ... on {node_type} {{ {inner} }} }} }}"


async def current_object(
    info: Info,
    node_id: relay.GlobalID,
    type_name: str,
    path: tuple[str, ...] = (),
    pick: Callable[[object], dict | None] | None = None,
) -> dict | None:
    """The object as a query answers it now (None when there is none): `type_name` reached from the
    node `node_id` through `path`, then `pick` (which chooses it from a list, for instance)."""
    query = current_query(info.schema._schema, node_id.type_name, path, type_name)
    # Fresh loaders: rows cached earlier in this request may predate the write that won.
    context = dataclasses.replace(info.context)
    result = await info.schema.execute(query, variable_values={"id": str(node_id)}, context_value=context)
    if result.errors:
        raise result.errors[0]
    value: object = (result.data or {}).get("node")
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    if pick is not None:
        return pick(value)
    return value if isinstance(value, dict) else None


@asynccontextmanager
async def showing_current(
    info: Info,
    node_id: relay.GlobalID,
    type_name: str,
    path: tuple[str, ...] = (),
    pick: Callable[[object], dict | None] | None = None,
) -> AsyncIterator[None]:
    """Around a versioned write: a CONFLICT over `expected_version` is raised again with
    `current` (see current_object) and `currentVersion` in the type's shape."""
    try:
        yield
    except Conflict as exc:
        if exc.field != "expected_version":
            raise
        current = await current_object(info, node_id, type_name, path, pick)
        version = current.get("version") if current else exc.details.get("currentVersion")
        raise Conflict(exc.message, field=exc.field, currentVersion=version, current=current) from None
