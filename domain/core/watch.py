"""One poll loop per process for a value many subscribers watch (the dashboard's counts): it
reads while anyone listens, at most once per interval, and hands each change to every subscriber.
A slow subscriber skips to the latest value instead of queueing stale ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class Watch(Generic[T]):
    def __init__(self, poll: Callable[[], Awaitable[T]], interval: float) -> None:
        self._poll = poll
        self._interval = interval
        self._latest: T | None = None
        self._version = 0
        self._changed = asyncio.Condition()
        self._listeners = 0
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        try:
            while True:
                value = await self._poll()
                if self._version == 0 or value != self._latest:
                    async with self._changed:
                        self._latest, self._version = value, self._version + 1
                        self._changed.notify_all()
                await asyncio.sleep(self._interval)
        finally:
            async with self._changed:  # wake the subscribers so that they see the loop ended
                self._changed.notify_all()

    async def updates(self) -> AsyncGenerator[T, None]:
        """The current value at once, then each change; raises what stopped the poll loop."""
        self._listeners += 1
        task = self._task
        if task is None or task.done():  # not running
            self._version = 0  # a value read before a pause may be stale
            task = self._task = asyncio.create_task(self._run())
        seen = 0
        try:
            while True:

                def moved(seen: int = seen) -> bool:
                    return self._version != seen or task.done()

                async with self._changed:
                    await self._changed.wait_for(moved)
                    if self._version == seen:
                        task.result()  # raises the poll's error
                        raise RuntimeError("the watch stopped")
                    # A version above 0 means `_latest` holds a polled value (T may itself allow None).
                    seen, value = self._version, cast(T, self._latest)
                yield value
        finally:
            self._listeners -= 1
            if self._listeners == 0 and self._task is task:
                task.cancel()
