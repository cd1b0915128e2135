from __future__ import annotations

import strawberry
from strawberry import relay

from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsAdmin
from graph.types.job import Job


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Cancel a pending or running job; a finished job is returned as it is (admins only).",
        permission_classes=[IsAdmin],
    )
    async def cancel_job(self, info: Info, id: relay.GlobalID) -> Job:
        job = await info.context.runtime.jobs.cancel(decode_id(id, "Job", "id"))
        return Job.from_row(job)
