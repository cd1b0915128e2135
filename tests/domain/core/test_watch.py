"""One poll loop per process, shared by every subscriber of a watched value."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from domain.core.watch import Watch


class Source:
    """A poll that returns the values the test feeds it, counting its calls."""

    def __init__(self) -> None:
        self.values: asyncio.Queue = asyncio.Queue()
        self.calls = 0

    async def poll(self):
        self.calls += 1
        value = await self.values.get()
        if isinstance(value, Exception):
            raise value
        return value


async def _next(updates):
    async with asyncio.timeout(5):
        return await anext(updates)


async def test_every_subscriber_sees_each_change_from_one_poll_loop():
    source = Source()
    watch = Watch(source.poll, interval=0)
    streams = [watch.updates() for _ in range(3)]
    async with contextlib.AsyncExitStack() as stack:
        for s in streams:
            stack.push_async_callback(s.aclose)
        source.values.put_nowait(1)
        assert [await _next(s) for s in streams] == [1, 1, 1]
        for value in (1, 1, 2):  # unchanged values are not sent
            source.values.put_nowait(value)
        assert [await _next(s) for s in streams] == [2, 2, 2]
        # Three subscribers, four values read: one read per value, not one per subscriber.
        await asyncio.sleep(0)
        assert source.calls == 5  # the fifth waits for a value
    await asyncio.sleep(0)  # the cancelled loop ends at its next step
    assert not watch.running  # the last subscriber left: nothing polls any more


async def test_a_late_subscriber_gets_the_current_value_at_once_and_a_slow_one_the_latest():
    source = Source()
    watch = Watch(source.poll, interval=0)
    early = watch.updates()
    source.values.put_nowait("a")
    assert await _next(early) == "a"
    late = watch.updates()
    assert await _next(late) == "a"
    for value in ("b", "c"):
        source.values.put_nowait(value)
    assert await _next(early) == "b"
    await asyncio.sleep(0.05)
    assert await _next(late) == "c"  # skipped the stale "b"
    await early.aclose()
    await late.aclose()


async def test_a_failing_poll_ends_every_subscription_with_its_error():
    source = Source()
    watch = Watch(source.poll, interval=0)
    updates = watch.updates()
    source.values.put_nowait(1)
    assert await _next(updates) == 1
    source.values.put_nowait(ConnectionError("database went away"))
    with pytest.raises(ConnectionError, match="database went away"):
        await _next(updates)
    again = watch.updates()  # a new subscriber starts a new loop
    source.values.put_nowait(2)
    assert await _next(again) == 2
    await again.aclose()
