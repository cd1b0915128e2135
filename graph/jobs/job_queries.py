from __future__ import annotations

import strawberry

from domain.jobs import queries as jobs_queries
from graph.context import Info
from graph.core.pagination import decode_cursor, encode_cursor, page_of, page_size
from graph.ids import decode_id
from graph.jobs.job import Job, JobConnection, JobFilter
from graph.permissions import IsViewer
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
        edges, page_info = page_of(
            rows, limit, lambda r: encode_cursor("job", r.id), Job.from_row, after_given=before_id is not None
        )
        return JobConnection(edges=edges, page_info=page_info, count_filter=data)
