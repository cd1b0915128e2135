"""Who may stop a job: admins any, others the jobs they started themselves."""

from __future__ import annotations

from domain.accounts.users import Role, Viewer
from domain.core.errors import Forbidden, NotFound
from domain.core.runtime import Runtime
from persistence.repositories import job as jobs_repo
from persistence.tables import JobRow


async def cancel_job(rt: Runtime, viewer: Viewer, job_id: int) -> JobRow:
    async with rt.sessions() as session:
        job = await jobs_repo.read_job(session, job_id)
    if job is None:
        raise NotFound(f"id: job {job_id} does not exist", field="id")
    if not viewer.can(Role.ADMIN) and job.parameters.requested_by != viewer.user_id:
        raise Forbidden("only admins and the user who started a job may cancel it")
    return await rt.jobs.cancel(job_id)
