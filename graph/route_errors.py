"""The media and download routes answer errors as the GraphQL endpoint does: a JSON body
`{"data": null, "errors": [{"message", "extensions": {"code"}}]}` with the HTTP status, and an
unexpected failure logged with the request id and answered INTERNAL_SERVER_ERROR carrying it
(`extensions.requestId`, also the `X-Request-ID` header), never a bare text 500."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from graph.auth import error_response

log = logging.getLogger("annograph.errors")

# The code a refusal of each status carries, as in GraphQL answers (graph/errors.py).
CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    410: "NOT_FOUND",
    422: "BAD_USER_INPUT",
}

Handler = Callable[[Request], Awaitable[Response]]


def answered(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        try:
            response = await handler(request)
        except Exception:  # noqa: BLE001 - logged with the request id, answered without internals
            request_id = request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex
            log.error("request %s failed", request_id, exc_info=True)
            return error_response(500, "INTERNAL_SERVER_ERROR", "Internal server error", requestId=request_id)
        if isinstance(response, PlainTextResponse) and response.status_code >= 400:
            code = CODES.get(response.status_code, "BAD_REQUEST")
            return error_response(response.status_code, code, bytes(response.body).decode())
        return response

    return route
