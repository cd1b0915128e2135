from __future__ import annotations

from collections.abc import Sequence

import strawberry

from graph.jobs.job import Job
from persistence.tables import JobRow


@strawberry.type(description="The runs of one analysis kind on a dataset: v1, v2, ... newest first.")
class AnalysisHistory:
    runs: list[Job] = strawberry.field(description="Every run, newest first (status, parameters, summary).")
    latest: Job | None = strawberry.field(
        description="The newest completed run; its result is the current one."
    )

    @classmethod
    def from_rows(cls, rows: Sequence[JobRow]) -> AnalysisHistory:
        done = next((r for r in rows if r.status == "COMPLETED"), None)
        return cls(runs=[Job.from_row(r) for r in rows], latest=Job.from_row(done) if done else None)
