from __future__ import annotations

import strawberry
from strawberry import relay

from domain.jobs.cancel import cancel_job
from graph.context import Info
from graph.ids import decode_id
from graph.jobs.job import Job
from graph.permissions import IsAnnotator


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description=(
            "Cancel a pending or running job (admins any, others the jobs they started); a finished job is "
            "returned as it is."
        ),
        permission_classes=[IsAnnotator],
    )
    async def cancel_job(self, info: Info, id: relay.GlobalID) -> Job:
        job = await cancel_job(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "Job", "id")
        )
        return Job.from_row(job)
