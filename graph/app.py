"""The Starlette app: GraphQL (HTTP and graphql-transport-ws), media, health."""

from __future__ import annotations

import contextlib
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from domain.runtime import Runtime
from graph import health, media
from graph.context import Context
from graph.schema import schema
from persistence.settings import Settings, get_settings


class GraphQLApp(GraphQL):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(
            runtime=request.app.state.runtime,
            request=request,
            response=response,
            request_id=request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
        )


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


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    """The service. Given a runtime, the caller owns it; otherwise the app builds and stops its own."""
    graphql = GraphQLApp(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        own = Runtime.build(settings or get_settings())
        await own.start()
        app.state.runtime = own
        try:
            yield
        finally:
            await own.stop()

    app = Starlette(
        routes=[
            Route("/", lambda _request: RedirectResponse("/graphql")),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route(media.FRAME_PATH, media.frame, methods=["GET", "HEAD"]),
            Route("/health", health.health),
        ],
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.add_middleware(RequestId)
    return app
