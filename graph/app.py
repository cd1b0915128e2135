"""The Starlette app: GraphQL (HTTP and graphql-transport-ws), media, health."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import uuid
from datetime import timedelta

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from domain.annotations import sessions as annotation_sessions
from domain.core.errors import Unauthenticated
from domain.core.runtime import Runtime
from domain.edits import export as episode_export
from domain.validation import test_sessions
from graph import auth, downloads, graphiql, health, json_text, media
from graph.context import Context
from graph.core.shared_subscriptions import SharedSubscriptionsHandler, SubscriptionGroups
from graph.limits import BodyLimit
from graph.route_errors import answered
from graph.schema import schema
from persistence.settings import Settings, get_settings

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    # Subscribers that would get the same answer share one execution (graph/core/shared_subscriptions.py).
    graphql_transport_ws_handler_class = SharedSubscriptionsHandler
    subscription_groups: SubscriptionGroups

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.scope.get("state", {})
        return Context(
            runtime=request.app.state.runtime,
            request=request,
            response=response,
            request_id=state.get("request_id") or uuid.uuid4().hex,
            viewer=state.get("viewer"),
        )

    def encode_json(self, data: object) -> str:
        """Answers and WebSocket messages as JSON text (graph/json_text.py)."""
        return json_text.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """JSON bodies (HTTP and WebSocket): a body nested too deeply for the parser or holding a lone
        UTF-16 surrogate (`\\ud800`: not text, PostgreSQL refuses it) is a 400, never a server error."""
        try:
            value = json.loads(data)
        except RecursionError:
            raise HTTPException(400, "the request body nests too deeply") from None
        if _has_lone_surrogate(value):
            raise HTTPException(400, "the request holds a lone UTF-16 surrogate (\\ud800-\\udfff), not text")
        return value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        try:
            response = await self.run(Request(scope, receive=receive))
        except HTTPException as exc:
            # Protocol errors (mutation over GET, batching, a body that is not JSON) as GraphQL errors.
            status = 405 if "GET" in exc.reason else exc.status_code
            response = auth.error_response(status, "BAD_REQUEST", exc.reason)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """annograph's own GraphiQL page (graph/graphiql.py): no CDN, and a sign-in banner when the
        browser has no session."""
        signed_in = request.scope.get("state", {}).get("viewer") is not None
        # In a thread: the page reads the manifest and stats (first time: hashes) the asset files.
        return await asyncio.to_thread(graphiql.page, signed_in)

    async def on_ws_connect(self, context: Context):
        """A bad or missing token in connection_init closes the socket with 4403; so does a token
        revoked, or a role changed, while the socket is open (auth.watch_credentials)."""
        params = context.connection_params or {}
        socket = context.request
        assert isinstance(socket, WebSocket)  # a connection's context holds its socket
        if context.viewer is not None and not params:
            # The browser's session cookie, checked in the handshake.
            secret = socket.cookies.get(auth.SESSION_COOKIE)
            auth.watch_credentials(context.runtime, socket, secret, context.viewer)
            return UNSET
        try:
            context.viewer = await auth.viewer_from_params(context.runtime, params)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from None
        auth.watch_credentials(context.runtime, socket, auth.params_secret(params), context.viewer)
        return UNSET


def _has_lone_surrogate(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class RequestId:
    """Gives every request an id (or keeps the caller's X-Request-ID) and returns it in a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, *, freeze_gc: bool = False
) -> Starlette:
    """The service. Given a runtime, the caller owns it; otherwise the app builds and stops its own.
    `freeze_gc` (`annograph serve`: the app owns the process): once started, everything alive is moved
    out of the collector's sight (`gc.freeze`), so a full collection no longer walks the modules,
    the schema and the pools; such a walk took up to ~200 ms mid-request, the p99 of reads."""
    settings = runtime.settings if runtime is not None else settings or get_settings()
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
        # Uploads (importAnnotations): safe from CSRF here because the session cookie is
        # SameSite=Strict and Authenticate refuses cross-site requests.
        multipart_uploads_enabled=True,
    )
    graphql.subscription_groups = SubscriptionGroups()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        own = None
        if runtime is None:
            own = Runtime.build(settings)
            interrupted = await own.start()
            # The jobs of a previous run were marked failed: a half-done dataset export is undone
            await episode_export.undo_interrupted_exports(own, interrupted)
            # and their test sessions are evaluated.
            ended = await test_sessions.recover_interrupted(own)
            if ended:
                log.warning("evaluated %d test session(s) interrupted by the last stop", len(ended))
        app.state.runtime = runtime or own
        if freeze_gc:
            gc.collect()
            gc.freeze()
        # Marks session participants gone once they vanish without leaving.
        sweeper = asyncio.create_task(annotation_sessions.sweep_forever(app.state.runtime))
        try:
            yield
        finally:
            # Wait for the sweeper to let go of its connection before the engine is disposed: a
            # sweep cancelled mid-query while the pool closes can wait forever on a dead connection.
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if own is not None:
                await own.stop()
            if freeze_gc:
                gc.unfreeze()  # the app is done: what it held may be collected again

    app = Starlette(
        routes=[
            Route("/", lambda _request: RedirectResponse("/graphql")),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route(media.FRAME_PATH, answered(media.frame), methods=["GET", "HEAD"]),
            Route(downloads.PATH, answered(downloads.job_artifact), methods=["GET", "HEAD"]),
            Route("/health", health.health),
            Route(graphiql.ASSETS_PATH + "/{file}", graphiql.asset, methods=["GET", "HEAD"]),
            Route("/login", auth.login),
            Route("/logout", auth.logout, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    # Outermost last: request id, then the Host check (Starlette's), body size, authentication.
    app.add_middleware(auth.Authenticate)
    app.add_middleware(BodyLimit, settings_of=lambda scope: scope["app"].state.runtime.settings)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(RequestId)
    # Outermost of all: a cached frame is answered before the stack (graph/media.py).
    app.add_middleware(media.CachedFrames)
    return app
