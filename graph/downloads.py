"""GET /downloads/jobs/{id}/{name}: what a finished job made (an export zip, a report), for signed-in
users."""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from domain.jobs import queries as jobs_queries
from domain.objects.transfer.exports import artifact_path
from graph.media import MAX_ID

PATH = "/downloads/jobs/{job_id:int}/{name}"


async def job_artifact(request: Request) -> Response:
    rt = request.app.state.runtime
    if request.scope.get("state", {}).get("viewer") is None:
        return PlainTextResponse("sign in first: send `Authorization: Bearer <token>`", status_code=401)
    job_id, name = request.path_params["job_id"], request.path_params["name"]
    if job_id > MAX_ID:
        return PlainTextResponse(f"job {job_id} has no file {name!r}", status_code=404)
    (job,) = await jobs_queries.jobs_by_ids(rt, [job_id])
    if job is None or job.status != "COMPLETED" or (job.result.artifact if job.result else None) != name:
        return PlainTextResponse(f"job {job_id} has no file {name!r}", status_code=404)
    path = artifact_path(rt, job_id, name)
    if not path.is_file():
        return PlainTextResponse(
            f"the file of job {job_id} is gone from the server; export again", status_code=410
        )
    # an export zip, or a report (.html, .json, .csv)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=name)
