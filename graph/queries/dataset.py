from __future__ import annotations

import strawberry
from strawberry import relay

from domain import datasets
from graph.context import Info
from graph.permissions import IsViewer
from graph.types.dataset import Dataset, DatasetConnection
from graph.types.pagination import decode_cursor, encode_cursor, page_size


@strawberry.type
class DatasetQueries:
    @strawberry.field(
        description="Registered datasets, oldest first, a page at a time.", permission_classes=[IsViewer]
    )
    async def datasets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> DatasetConnection:
        rt = info.context.runtime
        limit = page_size(first, rt.settings)
        after_id = decode_cursor(after, "dataset")
        rows = await datasets.list_datasets(rt, after_id=after_id, limit=limit + 1)
        for row in rows:
            info.context.loaders.dataset.prime(row.id, row)
        edges = [
            relay.Edge(cursor=encode_cursor("dataset", r.id), node=Dataset.from_row(r)) for r in rows[:limit]
        ]
        return DatasetConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > limit,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
