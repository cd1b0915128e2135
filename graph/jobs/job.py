from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.core import job_runner as jobs_domain
from graph.context import Info
from graph.datasets.dataset import Dataset
from graph.permissions import IsAdmin
from persistence.repositories.job import JobFilter as JobFilterData
from persistence.tables import JobRow

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
JobKind = jobs_domain.JobKind
strawberry.enum(JobKind, description="What a job does.")
JobStatus = jobs_domain.JobStatus
strawberry.enum(
    JobStatus,
    description="PENDING, then RUNNING, then COMPLETED, FAILED or CANCELLED.",
)


@strawberry.type(description="Work longer than a request, with progress; versioned per kind and target.")
class Job(relay.Node):
    id: relay.NodeID[int]
    kind: JobKind = strawberry.field(description="What the job does.")
    status: JobStatus = strawberry.field(description="Where the job is in its life.")
    version: int = strawberry.field(description="1 for the first job of this kind on its target, then 2, ...")
    progress: float = strawberry.field(description="From 0 to 1.")
    message: str | None = strawberry.field(description="What the job is doing now, or did last.")
    parameters: JSON | None = strawberry.field(
        description=(
            "The parameters the job was started with (admins only: they name server paths; null with a "
            "FORBIDDEN error for others, the rest of the job stays readable)."
        ),
        permission_classes=[IsAdmin],
    )
    summary: JSON | None = strawberry.field(description="A short result, once completed.")
    result: JSON | None = strawberry.field(description="The full result, once completed, if the job has one.")
    error_code: str | None = strawberry.field(
        description="Why the job failed, as an error code (BAD_USER_INPUT, INTERRUPTED, ...)."
    )
    error_message: str | None = strawberry.field(description="Why the job failed, for people.")
    created_at: datetime = strawberry.field(description="When the job was submitted.")
    started_at: datetime | None = strawberry.field(description="When the job started running.")
    finished_at: datetime | None = strawberry.field(description="When the job ended.")
    dataset_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        return cls(
            id=row.id,
            kind=jobs_domain.JobKind(row.kind),
            status=jobs_domain.JobStatus(row.status),
            version=row.version,
            progress=row.progress,
            message=row.message,
            parameters=JSON(row.parameters.stored()),
            summary=JSON(row.summary.stored() if row.summary is not None else None),
            result=JSON(row.result.stored() if row.result is not None else None),
            error_code=row.error_code,
            error_message=row.error_message,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            dataset_id=row.dataset_id,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.job.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(
        description="Where to download what the job made (an export zip), once completed; else null."
    )
    def artifact_url(self) -> str | None:
        result: dict = self.result if isinstance(self.result, dict) else {}
        name = result.get("artifact") if self.status == jobs_domain.JobStatus.COMPLETED else None
        return f"/downloads/jobs/{self.id}/{name}" if name else None

    @strawberry.field(description="The dataset the job works on, if any.")
    async def dataset(self, info: Info) -> Dataset | None:
        if self.dataset_id is None:
            return None
        row = await info.context.loaders.dataset.load(self.dataset_id)
        return Dataset.from_row(row) if row else None


@strawberry.type(description="A page of jobs, newest first.")
class JobConnection(relay.Connection[Job]):
    count_filter: strawberry.Private[JobFilterData]

    @strawberry.field(description="Number of jobs matching the filter.")
    async def total_count(self, info: Info) -> int:
        from domain.jobs.queries import count_jobs

        return await count_jobs(info.context.runtime, filter=self.count_filter)


@strawberry.input(description="Narrows the job list; all given conditions must hold.")
class JobFilter:
    kind: JobKind | None = strawberry.field(default=None, description="Only jobs of this kind.")
    status: list[JobStatus] | None = strawberry.field(
        default=None, description="Only jobs in one of these states."
    )
    dataset_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Only jobs on this dataset."
    )
