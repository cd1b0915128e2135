"""Live events over broadcaster (memory://, redis://, postgres://) with bounded local queues.

Messages are small JSON objects of ids; subscribers re-read what they need. Each process keeps
one broadcaster subscription per channel and fans it out to bounded queues: a subscriber that
falls a whole queue behind is dropped (SlowSubscriber) instead of growing the server's memory,
and may subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

from persistence.event_backends import broadcast

QUEUE_SIZE = 256


class _Overflow:
    """The one mark put in a dropped subscriber's emptied queue."""


_OVERFLOW = _Overflow()


class SlowSubscriber(Exception):
    """The subscriber fell a whole queue behind and was dropped; it may subscribe again."""


class EventHub:
    def __init__(self, url: str, queue_size: int = QUEUE_SIZE, prefix: str = "") -> None:
        """`prefix` goes before every channel name on the backend (settings.event_prefix), so
        deployments sharing a Redis or PostgreSQL do not hear each other; callers never see it."""
        self.url = url
        self.prefix = prefix
        self._broadcast = broadcast(url)
        self._queue_size = queue_size
        self._queues: dict[str, set[asyncio.Queue[dict | _Overflow]]] = {}
        self._pumps: dict[str, asyncio.Task] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._broken = False

    async def connect(self) -> None:
        await self._broadcast.connect()
        self._broadcast._listener_task.add_done_callback(self._listener_ended)

    def _listener_ended(self, task: asyncio.Task) -> None:
        """The backend connection is lost: end every subscription (each sees the error) and
        reconnect on the next publish or subscribe."""
        if task.cancelled() or task.exception() is None:
            return
        self._broken = True
        for pump in list(self._pumps.values()):
            pump.cancel()

    async def _ensure_connected(self) -> None:
        if not self._broken:
            return
        with contextlib.suppress(Exception):
            await self._broadcast._backend.disconnect()
        self._broadcast = broadcast(self.url)
        self._pumps.clear()
        self._ready.clear()
        try:
            await self.connect()
        except Exception as exc:  # redis' and asyncpg's own errors: one kind for callers (UNAVAILABLE)
            raise ConnectionError(f"the event broadcaster is unreachable ({exc})") from exc
        self._broken = False

    async def disconnect(self) -> None:
        for task in self._pumps.values():
            task.cancel()
        self._pumps.clear()
        with contextlib.suppress(Exception):
            await self._broadcast.disconnect()

    async def publish(self, channel: str, payload: dict) -> None:
        await self._ensure_connected()
        await self._broadcast.publish(self.prefix + channel, json.dumps(payload))

    async def _pump(self, channel: str) -> None:
        async with self._broadcast.subscribe(self.prefix + channel) as subscriber:
            self._ready[channel].set()
            # broadcaster annotates Subscriber.__aiter__ as returning "AsyncGenerator | None"; it is a
            # generator and never None.
            async for event in subscriber:  # type: ignore[union-attr]
                if event is None:
                    return
                message = json.loads(event.message)
                for queue in list(self._queues.get(channel, ())):
                    if queue.full():
                        # Free what it holds and tell it why it stops; the others go on.
                        while not queue.empty():
                            queue.get_nowait()
                        queue.put_nowait(_OVERFLOW)
                        self._queues[channel].discard(queue)
                    else:
                        queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict]]:
        """Yield an async iterator of this channel's messages, ready before the context opens."""
        await self._ensure_connected()
        queue: asyncio.Queue[dict | _Overflow] = asyncio.Queue(self._queue_size)
        self._queues.setdefault(channel, set()).add(queue)
        if channel not in self._pumps:
            self._ready[channel] = asyncio.Event()
            self._pumps[channel] = asyncio.create_task(self._pump(channel))
        pump = self._pumps[channel]
        ready = asyncio.ensure_future(self._ready[channel].wait())
        await asyncio.wait({ready, pump}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await self._forget(channel, queue, pump)
            cause = None if pump.cancelled() else pump.exception()
            raise ConnectionError(f"could not subscribe to {channel!r}: {cause}") from cause

        getters: set[asyncio.Future] = set()

        async def messages() -> AsyncIterator[dict]:
            # Ends with an error when the backend connection is lost, instead of waiting forever.
            while True:
                getter = asyncio.ensure_future(queue.get())
                getters.add(getter)
                getter.add_done_callback(getters.discard)
                await asyncio.wait({getter, pump}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    raise ConnectionError(f"lost the event stream of {channel!r}")
                message = getter.result()
                if isinstance(message, _Overflow):
                    raise SlowSubscriber(f"fell {self._queue_size} events behind on {channel!r}")
                yield message

        try:
            yield messages()
        finally:
            # A subscriber that stops while waiting leaves its `queue.get()` pending: cancel it here,
            # or asyncio reports "Task was destroyed but it is pending!" and the task's memory stays.
            for getter in list(getters):
                getter.cancel()
            await self._forget(channel, queue, pump)

    async def _forget(self, channel: str, queue: asyncio.Queue, pump: asyncio.Task) -> None:
        queues = self._queues.get(channel, set())
        queues.discard(queue)
        if queues and not pump.done():
            return
        if self._pumps.get(channel) is pump:
            self._pumps.pop(channel)
            self._ready.pop(channel, None)
        if not queues:
            self._queues.pop(channel, None)
        if not pump.done():
            pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump

    async def ping(self, timeout: float = 2.0) -> None:
        """Round-trip one message through the backend; raises when it does not come back."""
        nonce = uuid.uuid4().hex
        channel = f"health.{nonce}"
        async with asyncio.timeout(timeout), self.subscribe(channel) as messages:
            await self.publish(channel, {"nonce": nonce})
            async for message in messages:
                if message.get("nonce") == nonce:
                    return
