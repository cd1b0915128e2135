"""Helpers for tests with real clients: a uvicorn server in the test's loop, and gql subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from graph.app import create_app


@contextlib.asynccontextmanager
async def serving(runtime) -> AsyncIterator[str]:
    """The app under uvicorn on a free loopback port, in this event loop; yields host:port."""
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def ws_client(address: str, token: str) -> AsyncIterator:
    """A real graphql-transport-ws client (the gql package over websockets)."""
    transport = WebsocketsTransport(
        url=f"ws://{address}/graphql",
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        yield session


class Collector:
    """Runs a subscription in the background and keeps what it receives."""

    def __init__(self, session, query: str, variables: dict) -> None:
        self.events: list[dict] = []
        self.error: Exception | None = None
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._run(session, gql(query), variables))

    async def _run(self, session, document, variables) -> None:
        try:
            async for result in session.subscribe(document, variable_values=variables):
                self.events.append(result)
                self._arrived.set()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc
            self._arrived.set()

    async def wait_for(self, predicate, timeout: float = 10.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                if self.error is not None:
                    raise AssertionError(f"subscription failed: {self.error!r}")
                self._arrived.clear()
                await self._arrived.wait()

    async def wait_for_error(self, timeout: float = 10.0) -> Exception:
        async with asyncio.timeout(timeout):
            while self.error is None:
                self._arrived.clear()
                await self._arrived.wait()
        return self.error

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
