"""Live events over every broadcaster backend the service supports, with bounded queues."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from persistence.events import EventHub, SlowSubscriber
from tests.conftest import PG_URL

REDIS_URL = os.environ.get("ANNOGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _reachable(url: str) -> bool:
    hub = EventHub(url)
    try:
        async with asyncio.timeout(3):
            await hub.connect()
            await hub.ping()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        await hub.disconnect()


@pytest.fixture(params=["memory", "redis", "postgres"])
async def hub(request):
    url = {
        "memory": "memory://",
        "redis": REDIS_URL,
        "postgres": PG_URL.replace("postgresql+asyncpg", "postgres"),
    }[request.param]
    if not await _reachable(url):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the {request.param} broadcaster at {url} does not answer")
        pytest.skip(f"{request.param} broadcaster not reachable at {url}")
    hub = EventHub(url, queue_size=4)
    await hub.connect()
    yield hub
    await hub.disconnect()


async def _take(messages, n: int) -> list[dict]:
    async with asyncio.timeout(5):
        return [await anext(messages) for _ in range(n)]


async def test_round_trip_to_every_subscriber(hub):
    async with hub.subscribe("t.round") as first, hub.subscribe("t.round") as second:
        await hub.publish("t.round", {"id": 1})
        await hub.publish("t.other", {"id": 99})
        await hub.publish("t.round", {"id": 2})
        assert await _take(first, 2) == [{"id": 1}, {"id": 2}]
        assert await _take(second, 2) == [{"id": 1}, {"id": 2}]


async def test_slow_subscriber_is_dropped_and_may_return(hub):
    async with hub.subscribe("t.slow") as slow, hub.subscribe("t.slow") as fast:
        seen = []
        for i in range(20):
            await hub.publish("t.slow", {"id": i})
            async with asyncio.timeout(5):
                seen.append((await anext(fast))["id"])  # the fast reader keeps up
        assert seen == list(range(20))
        with pytest.raises(SlowSubscriber, match="fell 4 events behind"):
            async with asyncio.timeout(5):
                while True:
                    await anext(slow)
    async with hub.subscribe("t.slow") as again:
        await hub.publish("t.slow", {"id": 99})
        assert await _take(again, 1) == [{"id": 99}]


async def test_ping(hub):
    await hub.ping()


async def test_dead_backend_fails_fast():
    hub = EventHub("redis://127.0.0.1:1/0")
    with pytest.raises((ConnectionError, OSError, TimeoutError)):
        await hub.ping(timeout=2)


async def test_concurrent_subscribes_and_publishes(hub):
    """Subscriptions opened at once while others publish (a client starting several subscriptions
    while a mutation runs). The Postgres backend shares one asyncpg connection, which refuses a
    second operation while one is in flight."""
    channels = [f"t.many.{n}" for n in range(8)]
    async with contextlib.AsyncExitStack() as stack:
        streams = await asyncio.gather(
            *(stack.enter_async_context(hub.subscribe(c)) for c in channels),
            *(hub.publish("t.noise", {"n": n}) for n in range(8)),
        )
        await asyncio.gather(*(hub.publish(c, {"channel": c}) for c in channels))
        for channel, messages in zip(channels, streams[: len(channels)], strict=True):
            assert await _take(messages, 1) == [{"channel": channel}]


async def test_ended_subscriptions_leave_no_task_behind(hub):
    """A subscriber stopped while it waits (a client closing its subscription) leaves nothing
    pending: 100 of them leave as many tasks as there were before."""
    async with hub.subscribe("t.leak.warm"):
        pass
    before = len(asyncio.all_tasks())
    for _ in range(100):
        async with hub.subscribe("t.leak") as messages:
            waiting = asyncio.ensure_future(anext(messages))
            await asyncio.sleep(0.001)  # now inside the queue.get() of the subscription
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
    await asyncio.sleep(0.01)
    assert len(asyncio.all_tasks()) <= before


@pytest.mark.parametrize("url", [REDIS_URL, PG_URL.replace("postgresql+asyncpg", "postgres")])
async def test_two_deployments_on_one_backend_do_not_hear_each_other(url):
    """Redis pub/sub ignores the database number (and PostgreSQL NOTIFY is per database, which two
    deployments may share): the channel prefix keeps each deployment's events its own."""
    if not await _reachable(url):
        pytest.fail(f"broadcaster at {url} does not answer")
    first, second = EventHub(url, prefix="annograph.one."), EventHub(url, prefix="annograph.two.")
    await first.connect()
    await second.connect()
    try:
        async with first.subscribe("episode.1") as heard_by_first, second.subscribe("episode.1") as heard_by_second:
            await second.publish("episode.1", {"from": "two"})
            await first.publish("episode.1", {"from": "one"})
            assert await _take(heard_by_first, 1) == [{"from": "one"}]
            assert await _take(heard_by_second, 1) == [{"from": "two"}]
    finally:
        await first.disconnect()
        await second.disconnect()


def test_the_prefix_is_derived_from_the_database():
    from persistence.settings import Settings

    one = Settings(database_url="postgresql+asyncpg://u:secret@db:5432/one")
    rotated = Settings(database_url="postgresql+asyncpg://u:other@db:5432/one")
    two = Settings(database_url="postgresql+asyncpg://u:secret@db:5432/two")
    assert one.event_prefix == rotated.event_prefix != two.event_prefix
    assert one.event_prefix.startswith("annograph.")
    assert Settings(event_prefix="lab-a.").event_prefix == "lab-a."
