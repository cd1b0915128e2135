"""GET /media/...: camera frames as JPEG, cacheable (ETag, long Cache-Control, 304).

Two ways in, one answer:
- `frame`, the route: every request the app's middleware lets through (request id, Host check, body
  limit, authentication), rendering the frame on a cache miss and answering every error;
- `CachedFrames`, an ASGI middleware outside the others: a GET with a Bearer token whose frame is in
  the frame cache (or is a 304) is answered at once, with the same headers, by the same checks
  (`tokens.authenticate`, the allowed hosts, `locate_frame`); anything else - a miss, an error, a
  cookie, no credentials, `?edits` - goes on to the app unchanged, which answers it as before.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.accounts import tokens
from domain.core.errors import BadUserInput, NotFound
from domain.core.runtime import Runtime
from domain.datasets import episodes
from domain.datasets.episodes import FrameTarget
from domain.edits.previews import locate_edited_frame
from graph.auth import bearer_token
from persistence.episode_sources import SourceError

FRAME_PATH = "/media/datasets/{dataset_id:int}/episodes/{index:int}/cameras/{camera}/frames/{frame:int}.jpg"
# FRAME_PATH as a regular expression (Starlette's int is [0-9]+, a plain parameter [^/]+).
_FRAME_RE = re.compile(r"/media/datasets/([0-9]+)/episodes/([0-9]+)/cameras/([^/]+)/frames/([0-9]+)\.jpg")
# The URL carries the file's version (`v`), so a cached frame never goes stale; private because
# frames are served only to signed-in users (a shared cache must not hand them to anyone).
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Ids, indexes and frames are 32-bit integers in the database; a larger number names nothing.
MAX_ID = 2**31 - 1


def _int_param(query, name: str) -> int | None:
    """Query parameter `name` as an integer; None when absent or empty; BadUserInput naming it."""
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadUserInput(f"{name} must be an integer, got {value!r}", field=name) from None


async def _locate(rt: Runtime, p: dict, query) -> FrameTarget:
    """The frame a request names (`p`: dataset_id, index, camera, frame; `query`: width, quality,
    edits); NotFound or BadUserInput as the route answers them."""
    # `?edits`: the frame with the episode's saved edits applied (what the export would write).
    locate = locate_edited_frame if "edits" in query else episodes.locate_frame
    return await locate(
        rt,
        p["dataset_id"],
        p["index"],
        p["camera"],
        p["frame"],
        _int_param(query, "width"),
        _int_param(query, "quality"),
    )


def _not_modified(target: FrameTarget, if_none_match: str | None) -> bool:
    return target.etag in {t.strip() for t in (if_none_match or "").split(",")}


async def frame(request: Request) -> Response:
    rt = request.app.state.runtime
    if request.scope.get("state", {}).get("viewer") is None:
        return PlainTextResponse("sign in first: send `Authorization: Bearer <token>`", status_code=401)
    p = request.path_params
    if not all(0 <= p[key] <= MAX_ID for key in ("dataset_id", "index", "frame")):
        return PlainTextResponse("no such dataset, episode or frame", status_code=404)
    try:
        target = await _locate(rt, p, request.query_params)
    except NotFound as exc:
        return PlainTextResponse(exc.message, status_code=404)
    except BadUserInput as exc:
        return PlainTextResponse(exc.message, status_code=400)
    headers = {"ETag": target.etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(target, request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    try:
        body = await episodes.render_frame(rt, target)
    except FileNotFoundError:
        return PlainTextResponse("the episode file is no longer on disk; re-register the dataset", 404)
    except SourceError as exc:  # the file does not give this frame (e.g. no video frame at its time)
        return PlainTextResponse(str(exc), 422)
    return Response(body, media_type="image/jpeg", headers=headers)


class CachedFrames:
    """ASGI middleware, outermost: answers a GET of a frame the frame cache holds (or a 304) without
    the app's middleware stack and router; passes every other request on untouched. Its answer is
    the route's: status, body, ETag, Cache-Control, Content-Type and X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith("/media/"):
            try:
                answer = await self._answer(scope)
            except Exception:  # noqa: BLE001 - any failure: the route answers it (a read, safe to redo)
                answer = None
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        match = _FRAME_RE.fullmatch(scope["path"])
        if match is None:
            return None
        rt: Runtime = scope["app"].state.runtime
        settings = rt.settings
        if not settings.auth:
            return None
        headers = dict(scope["headers"])
        # What TrustedHostMiddleware and BodyLimit would let through, and nothing else.
        host = headers.get(b"host", b"").decode("latin-1").split(":")[0].lower()
        if "*" not in settings.allowed_hosts and host not in settings.allowed_hosts:
            return None
        query_string = scope.get("query_string", b"")
        if settings.limits and len(query_string) > settings.max_body_bytes:
            return None
        secret = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        if secret is None:
            return None
        await tokens.authenticate(rt, secret, kinds=[tokens.TokenKind.API, tokens.TokenKind.SESSION])
        dataset_id, index, camera, frame_ = match.groups()
        numbers = {"dataset_id": int(dataset_id), "index": int(index), "frame": int(frame_)}
        if not all(0 <= n <= MAX_ID for n in numbers.values()):
            return None
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        if "edits" in query:
            return None
        p: dict[str, int | str] = {**numbers, "camera": camera}
        target = await _locate(rt, p, query)
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        common = [
            (b"etag", target.etag.encode()),
            (b"cache-control", CACHE_CONTROL.encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if _not_modified(target, headers.get(b"if-none-match", b"").decode("latin-1")):
            return 304, common, b""
        body = rt.frame_cache.get(target.etag)
        if body is None:
            return None
        length = (b"content-length", str(len(body)).encode())
        return 200, [length, (b"content-type", b"image/jpeg"), *common], body
