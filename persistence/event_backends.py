"""Broadcaster 0.3 with its backends mended for a long-running service.

- Redis: the listener is woken before SUBSCRIBE is sent (with redis-py >= 5 it then sees no
  subscription, stops, and never delivers), and a lost connection kills it silently.
- Postgres: one asyncpg connection serves LISTEN, UNLISTEN and NOTIFY; asyncpg refuses a second
  operation while one is in flight, so concurrent subscribes and publishes failed at random.
  A lost connection was never noticed either.
- Broadcast.subscribe registers the subscriber before the backend confirms, so a failed
  subscribe surfaced as a KeyError from its cleanup that hid the real error.
A lost connection reaches `next_published` as ConnectionError, so the listener task ends with it
and EventHub reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlparse

from broadcaster import Broadcast
from broadcaster._backends.postgres import PostgresBackend
from broadcaster._backends.redis import RedisBackend
from broadcaster._base import Subscriber


class _RedisBackend(RedisBackend):
    _failure: BaseException | None = None

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()

    async def _pubsub_listener(self) -> None:
        try:
            await super()._pubsub_listener()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed on to next_published
            self._failure = exc
            # None is this class's own end-of-stream mark (broadcaster's queue holds Events); only
            # next_published below reads it.
            self._queue.put_nowait(None)  # type: ignore[arg-type]

    async def next_published(self):
        event = await self._queue.get()
        if event is None:
            raise ConnectionError(f"lost the connection to Redis: {self._failure}")
        return event


class _PostgresBackend(PostgresBackend):
    async def connect(self) -> None:
        await super().connect()
        self._lock = asyncio.Lock()
        # None is this class's own lost-connection mark (broadcaster's queue holds Events); only
        # next_published below reads it.
        self._conn.add_termination_listener(
            lambda _conn: self._listen_queue.put_nowait(None)  # type: ignore[arg-type]
        )

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            await super().unsubscribe(channel)

    async def publish(self, channel: str, message: str) -> None:
        async with self._lock:
            await super().publish(channel, message)

    async def next_published(self):
        event = await self._listen_queue.get()
        if event is None:
            raise ConnectionError("lost the connection to PostgreSQL")
        return event


class _Broadcast(Broadcast):
    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue: asyncio.Queue = asyncio.Queue()
        if not self._subscribers.get(channel):
            await self._backend.subscribe(channel)  # raises before anything is registered
            self._subscribers[channel] = {queue}
        else:
            self._subscribers[channel].add(queue)
        try:
            yield Subscriber(queue)
        finally:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(channel, None)
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await self._backend.unsubscribe(channel)
            await queue.put(None)


def broadcast(url: str) -> Broadcast:
    scheme = urlparse(url).scheme
    if scheme in ("redis", "rediss"):
        return _Broadcast(backend=_RedisBackend(url))
    if scheme in ("postgres", "postgresql"):
        return _Broadcast(backend=_PostgresBackend(url))
    return _Broadcast(url)
