from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from domain.datasets import service as datasets
from graph.context import Info
from graph.core.pagination import decode_cursor, encode_cursor, page_of, page_size
from graph.datasets.dataset import Dataset, DatasetConnection, DatasetFormat
from graph.permissions import IsViewer
from persistence.episode_sources.formats import options_schemas


@strawberry.type(description="The form of one recording format's registration options.")
class DatasetFormatSchema:
    format: DatasetFormat = strawberry.field(description="The format.")
    schema: JSON = strawberry.field(description="JSON Schema of `registerDataset(input: {options})` for it.")


@strawberry.type
class DatasetQueries:
    @strawberry.field(
        description=(
            "The JSON Schema of each registrable format's options (fps, clock, topics, camera names), "
            "to build a registration form from."
        ),
        permission_classes=[IsViewer],
    )
    def dataset_format_schemas(self) -> list[DatasetFormatSchema]:
        return [
            DatasetFormatSchema(format=DatasetFormat(f), schema=JSON(s)) for f, s in options_schemas().items()
        ]

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
        edges, page_info = page_of(
            rows,
            limit,
            lambda r: encode_cursor("dataset", r.id),
            Dataset.from_row,
            after_given=after_id is not None,
        )
        return DatasetConnection(edges=edges, page_info=page_info)
