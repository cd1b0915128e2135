"""GET /media/...: camera frames as JPEG, cacheable (ETag, long Cache-Control, 304)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from domain.core.errors import BadUserInput, NotFound
from domain.datasets import episodes
from domain.edits.previews import locate_edited_frame
from persistence.episode_sources import SourceError

FRAME_PATH = "/media/datasets/{dataset_id:int}/episodes/{index:int}/cameras/{camera}/frames/{frame:int}.jpg"
# The URL carries the file's version (`v`), so a cached frame never goes stale; private because
# frames are served only to signed-in users (a shared cache must not hand them to anyone).
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Ids, indexes and frames are 32-bit integers in the database; a larger number names nothing.
MAX_ID = 2**31 - 1


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadUserInput(f"{name} must be an integer, got {value!r}", field=name) from None


async def frame(request: Request) -> Response:
    rt = request.app.state.runtime
    if request.scope.get("state", {}).get("viewer") is None:
        return PlainTextResponse("sign in first: send `Authorization: Bearer <token>`", status_code=401)
    p = request.path_params
    if not all(0 <= p[key] <= MAX_ID for key in ("dataset_id", "index", "frame")):
        return PlainTextResponse("no such dataset, episode or frame", status_code=404)
    try:
        # `?edits`: the frame with the episode's saved edits applied (what the export would write).
        locate = locate_edited_frame if "edits" in request.query_params else episodes.locate_frame
        target = await locate(
            rt,
            p["dataset_id"],
            p["index"],
            p["camera"],
            p["frame"],
            _int_param(request, "width"),
            _int_param(request, "quality"),
        )
    except NotFound as exc:
        return PlainTextResponse(exc.message, status_code=404)
    except BadUserInput as exc:
        return PlainTextResponse(exc.message, status_code=400)
    headers = {"ETag": target.etag, "Cache-Control": CACHE_CONTROL}
    if target.etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    try:
        body = await episodes.render_frame(rt, target)
    except FileNotFoundError:
        return PlainTextResponse("the episode file is no longer on disk; re-register the dataset", 404)
    except SourceError as exc:  # the file does not give this frame (e.g. no video frame at its time)
        return PlainTextResponse(str(exc), 422)
    return Response(body, media_type="image/jpeg", headers=headers)
