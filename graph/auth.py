"""Who is asking: resolves the viewer of every HTTP request and WebSocket handshake.

A bearer token (`Authorization: Bearer ag_...`) or, for the browser, the session cookie set by
`/login`. The cookie counts only on same-site requests: a cross-site request that carries it
is refused, so a form on another site cannot act as the user. With authentication off (only
possible on a loopback address) every request is the local admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import html

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from domain.accounts import tokens
from domain.accounts.tokens import TokenKind
from domain.accounts.users import LOCAL_ADMIN, Role, Viewer, ensure_user, viewer_of
from domain.core.errors import Unauthenticated
from domain.core.runtime import Runtime

SESSION_COOKIE = "annograph_session"


def error_response(status: int, code: str, message: str, **extensions) -> JSONResponse:
    """A GraphQL-shaped error for requests refused before the graph sees them."""
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
        status_code=status,
    )


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def same_site(scope: Scope, headers: Headers) -> bool:
    """True unless the browser says the request comes from another site."""
    origin = headers.get("origin")
    if origin is not None:
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        return origin == f"{scheme}://{headers.get('host', '')}"
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def local_admin(rt: Runtime, app_state) -> Viewer:
    viewer = getattr(app_state, "local_admin", None)
    if viewer is None:
        viewer = viewer_of(await ensure_user(rt, LOCAL_ADMIN, Role.ADMIN))
        app_state.local_admin = viewer
    return viewer


def params_secret(params: dict) -> str | None:
    """The token of a graphql-transport-ws `connection_init` payload."""
    raw = params.get("Authorization") or params.get("authorization")
    secret = bearer_token(raw) if isinstance(raw, str) else params.get("token")
    return secret if isinstance(secret, str) and secret else None


# How often an open WebSocket's credential is verified again: the token cache's lifetime, so that a
# revocation or role change reaches open sockets within about twice that.
CREDENTIAL_CHECK_SECONDS = 5.0
_watchers: set[asyncio.Task] = set()


def watch_credentials(rt: Runtime, websocket: WebSocket, secret: str | None, viewer: Viewer) -> None:
    """While the socket is open, check its token again every few seconds; close it with 4403 when the
    token is revoked or expired or the user's role changed (the client connects again, with the rights
    it has now)."""
    if secret is None or not rt.settings.auth:
        return

    async def watch() -> None:
        while True:
            await asyncio.sleep(CREDENTIAL_CHECK_SECONDS)
            if WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state):
                return
            try:
                now = await tokens.authenticate(rt, secret, kinds=[TokenKind.API, TokenKind.SESSION])
            except Unauthenticated:
                now = None
            if now is None or now.role != viewer.role:
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    await websocket.close(code=4403, reason="credentials revoked or changed: connect again")
                return

    task = asyncio.create_task(watch())
    _watchers.add(task)
    task.add_done_callback(_watchers.discard)


async def viewer_from_params(rt: Runtime, params: dict) -> Viewer:
    """The viewer of a graphql-transport-ws `connection_init` payload."""
    secret = params_secret(params)
    if not isinstance(secret, str) or not secret:
        raise Unauthenticated("connection_init needs {'Authorization': 'Bearer <token>'}")
    return await tokens.authenticate(rt, secret, kinds=[TokenKind.API, TokenKind.SESSION])


class Authenticate:
    """ASGI middleware: puts `viewer` (or None) into the scope's state; refuses bad credentials."""

    OPEN_PATHS = ("/login", "/logout", "/health")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.OPEN_PATHS:
            return await self.app(scope, receive, send)
        app = scope["app"]
        rt: Runtime = app.state.runtime
        state = scope.setdefault("state", {})
        headers = Headers(scope=scope)
        if not rt.settings.auth:
            # Every request is the admin: a page on another site must not be able to send one (a form
            # POST needs no preflight).
            if not same_site(scope, headers):
                if scope["type"] == "http":
                    message = "cross-site request refused (authentication is off)"
                    response = error_response(403, "FORBIDDEN", message)
                    return await response(scope, receive, send)
                return await WebSocket(scope, receive, send).close(code=4403)
            state["viewer"] = await local_admin(rt, app.state)
            return await self.app(scope, receive, send)
        viewer = None
        secret = bearer_token(headers.get("authorization"))
        cookie = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
        try:
            if secret:
                viewer = await tokens.authenticate(rt, secret, kinds=[TokenKind.API, TokenKind.SESSION])
            elif cookie and not same_site(scope, headers):
                if scope["type"] == "http":
                    response = error_response(
                        403, "FORBIDDEN", "cross-site request with the session cookie refused"
                    )
                    return await response(scope, receive, send)
            elif cookie:
                # A stale cookie is no error: the request is anonymous and may log in again.
                try:
                    viewer = await tokens.authenticate(rt, cookie, kinds=[TokenKind.SESSION])
                except Unauthenticated:
                    viewer = None
        except Unauthenticated as exc:
            if scope["type"] == "http":
                return await error_response(401, exc.code, exc.message)(scope, receive, send)
            state["auth_error"] = exc.message
        state["viewer"] = viewer
        await self.app(scope, receive, send)


async def login(request: Request) -> Response:
    """GET /login?code=...: trade a one-time code for an HttpOnly, SameSite=Strict session cookie."""
    rt: Runtime = request.app.state.runtime
    code = request.query_params.get("code", "")
    if not same_site(request.scope, request.headers):
        # Login CSRF: a link on another site would sign the visitor in as whoever made the code.
        return PlainTextResponse(
            "a login link followed from another site is refused: paste it into the address bar",
            status_code=403,
        )
    try:
        session = await tokens.exchange_login_code(rt, code)
    except Unauthenticated as exc:
        if await _signed_in(rt, request):
            # A used link opened again (history, a second click) in a browser that it signed in.
            return RedirectResponse("/graphql", status_code=303)
        return _page(
            "This login link does not work",
            f"{exc.message}. A link works once, for {rt.settings.login_code_minutes} minutes.",
            401,
        )
    response = RedirectResponse("/graphql", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=rt.settings.session_days * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def _signed_in(rt: Runtime, request: Request) -> bool:
    """True when the request carries a live session cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return False
    try:
        await tokens.authenticate(rt, cookie, kinds=[TokenKind.SESSION])
    except Unauthenticated:
        return False
    return True


_HOW_TO_SIGN_IN = (
    "For a new link, run <code>annograph login</code> where the server runs (with the settings it was "
    "started with; <code>--port</code> and <code>--host</code> name the server's address) and open the "
    "link it prints."
)


def _page(title: str, message: str, status: int) -> HTMLResponse:
    """A small page for a person in a browser: what happened, and how to sign in."""
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>annograph: {html.escape(title)}</title></head>"
        "<body style='font-family: sans-serif; max-width: 40em; margin: 3em auto'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p><p>{_HOW_TO_SIGN_IN}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def logout(request: Request) -> Response:
    """GET or POST /logout: end the browser session (its token revoked, the cookie cleared) and show a
    signed-out page."""
    rt: Runtime = request.app.state.runtime
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await tokens.end_session(rt, cookie)
    response = _page("Signed out", "This browser's annograph session has ended.", 200)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
    return response
