from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay

from graph.context import Info
from persistence.tables import LabelRow


@strawberry.type(description="A class boxes may carry, with its display colour and optional parent.")
class Label(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The class name, unique in its dataset.")
    color: str = strawberry.field(description="Display colour, #rrggbb.")
    row: strawberry.Private[LabelRow]

    @classmethod
    def from_row(cls, row: LabelRow) -> Label:
        return cls(id=row.id, name=row.name, color=row.color, row=row)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.label.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The broader class this one belongs to, if any.")
    async def parent(self, info: Info) -> Label | None:
        if self.row.parent_id is None:
            return None
        row = await info.context.loaders.label.load(self.row.parent_id)
        return Label.from_row(row) if row else None
