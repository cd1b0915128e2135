from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from domain.core.errors import NotFound
from domain.core.job_runner import JOBS_CHANNEL
from domain.core.job_states import FINISHED, JobStatus
from graph.context import Info
from graph.core.stream import channel_messages
from graph.ids import decode_id
from graph.jobs.job import Job
from graph.permissions import IsViewer


@strawberry.type
class JobSubscriptions:
    @strawberry.subscription(
        description=(
            "Jobs as they change. With `jobId`, the job's current state comes first and the stream "
            "ends when the job does; with `datasetId`, every job on that dataset; with neither, all jobs."
        ),
        permission_classes=[IsViewer],
    )
    async def job_updates(
        self, info: Info, job_id: relay.GlobalID | None = None, dataset_id: relay.GlobalID | None = None
    ) -> AsyncGenerator[Job, None]:
        rt = info.context.runtime
        wanted_job = decode_id(job_id, "Job", "jobId")
        wanted_dataset = decode_id(dataset_id, "Dataset", "datasetId")

        async def current():
            # Runs once subscribed, so no change falls between the current state and the stream.
            if wanted_job is not None:
                row = await info.context.loaders.job.load(wanted_job)
                if row is None:
                    raise NotFound(f"job {job_id} does not exist", field="jobId")
                yield {"id": row.id, "datasetId": row.dataset_id, "current": True}

        async for message in channel_messages(rt, JOBS_CHANNEL, ready=current):
            if wanted_job is not None and message["id"] != wanted_job:
                continue
            if wanted_dataset is not None and message.get("datasetId") != wanted_dataset:
                continue
            if not message.get("current"):
                info.context.fresh_loaders()
            row = await info.context.loaders.job.load(message["id"])
            if row is None:
                continue
            yield Job.from_row(row)
            if wanted_job is not None and JobStatus(row.status) in FINISHED:
                return
