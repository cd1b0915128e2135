"""The per-request context: runtime, fresh dataloaders, the request and its id."""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from domain.accounts.users import Viewer
from domain.core.errors import Unauthenticated
from domain.core.runtime import Runtime
from graph.loaders import Loaders


@dataclass
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | WebSocket | None
    request_id: str
    # None for an anonymous request; permission classes refuse what needs a viewer.
    viewer: Viewer | None = None
    # The graphql-transport-ws connection_init payload (Strawberry fills it in).
    connection_params: dict | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.runtime)

    def require_viewer(self) -> Viewer:
        """The signed-in viewer, for resolvers behind a permission class (which has already refused an
        anonymous caller with the same UNAUTHENTICATED error)."""
        if self.viewer is None:
            raise Unauthenticated("sign in first: send `Authorization: Bearer <token>`")
        return self.viewer

    def fresh_loaders(self) -> None:
        """Subscriptions call this per event: cached rows must not outlive the event."""
        self.loaders = Loaders(self.runtime)


Info = strawberry.Info[Context, None]
