from __future__ import annotations

import strawberry
from strawberry import relay

from domain import jobs_queries
from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsViewer
from graph.types.job import Job, JobConnection, JobFilter
from graph.types.pagination import decode_cursor, encode_cursor, page_size
from persistence.repositories.job import JobFilter as JobFilterData


@strawberry.type
class JobQueries:
    @strawberry.field(description="Jobs, newest first, a page at a time.", permission_classes=[IsViewer])
    async def jobs(
        self, info: Info, filter: JobFilter | None = None, first: int | None = None, after: str | None = None
    ) -> JobConnection:
        rt = info.context.runtime
        limit = page_size(first, rt.settings)
        before_id = decode_cursor(after, "job")
        data = JobFilterData()
        if filter is not None:
            data = JobFilterData(
                kind=filter.kind.value if filter.kind else None,
                status=[s.value for s in filter.status] if filter.status else None,
                dataset_id=decode_id(filter.dataset_id, "Dataset", "filter.datasetId"),
            )
        rows = await jobs_queries.list_jobs(rt, filter=data, before_id=before_id, limit=limit + 1)
        edges = [relay.Edge(cursor=encode_cursor("job", r.id), node=Job.from_row(r)) for r in rows[:limit]]
        return JobConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > limit,
                has_previous_page=before_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count_filter=data,
        )
