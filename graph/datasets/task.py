from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay

from graph.context import Info
from persistence.tables import TaskRow


@strawberry.type(description="A task the robot was asked to do; episodes name one by index.")
class Task(relay.Node):
    id: relay.NodeID[int]
    index: int = strawberry.field(description="The task's index in the dataset (`taskIndex` of episodes).")
    description: str = strawberry.field(description="What the robot was asked to do.")

    @classmethod
    def from_row(cls, row: TaskRow) -> Task:
        return cls(id=row.id, index=row.index, description=row.description)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.task_by_id.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]
