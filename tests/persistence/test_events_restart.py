"""A broadcaster backend that goes away and comes back: subscribers get a clean error, publishing
fails loudly (callers log it and keep their commits), and the hub reconnects afterwards."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess

import asyncpg
import pytest

from persistence.events import EventHub
from tests.conftest import PG_URL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process


async def _wait_until_up(url: str) -> None:
    async with asyncio.timeout(10):
        while True:
            hub = EventHub(url)
            try:
                await hub.connect()
                await hub.ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                await asyncio.sleep(0.1)
            finally:
                await hub.disconnect()


@pytest.fixture
async def private_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for this test (Debian package redis-server)")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    processes = [_start_redis(port)]
    await _wait_until_up(url)

    def restart() -> None:
        processes.append(_start_redis(port))

    yield url, processes, restart
    for process in processes:
        process.kill()
        process.wait()


async def test_subscribers_get_an_error_and_the_hub_recovers(private_redis):
    url, processes, restart = private_redis
    hub = EventHub(url)
    await hub.connect()
    try:
        async with hub.subscribe("r") as messages:
            await hub.publish("r", {"n": 1})
            async with asyncio.timeout(5):
                assert (await anext(messages)) == {"n": 1}
            processes[0].kill()
            processes[0].wait()
            with pytest.raises(ConnectionError):
                async with asyncio.timeout(10):
                    await anext(messages)
        with pytest.raises(Exception):  # noqa: B017 - any connection error: callers log and go on
            await hub.publish("r", {"n": 2})
        # Subscribing while it is down: a ConnectionError, which the graph reports as UNAVAILABLE.
        for _ in range(2):
            with pytest.raises(ConnectionError):
                async with hub.subscribe("r"):
                    pass
        restart()
        await _wait_until_up(url)
        async with asyncio.timeout(10):
            while True:  # the hub reconnects on its own at the next subscribe
                try:
                    async with hub.subscribe("r") as again:
                        await hub.publish("r", {"n": 3})
                        assert (await anext(again)) == {"n": 3}
                        break
                except ConnectionError:
                    await asyncio.sleep(0.2)
    finally:
        await hub.disconnect()


async def test_postgres_listener_connection_lost_is_reported_and_recovered():
    """PostgreSQL drops the LISTEN connection (restart, idle timeout, pg_terminate_backend):
    subscribers get an error instead of waiting forever, and the next subscribe reconnects."""
    url = PG_URL.replace("postgresql+asyncpg", "postgres")
    hub = EventHub(url)
    await hub.connect()
    admin = await asyncpg.connect(url)
    try:
        async with hub.subscribe("pg.lost") as messages:
            await hub.publish("pg.lost", {"n": 1})
            async with asyncio.timeout(5):
                assert (await anext(messages)) == {"n": 1}
            pid = hub._broadcast._backend._conn.get_server_pid()
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(ConnectionError):
                async with asyncio.timeout(10):
                    await anext(messages)
        async with asyncio.timeout(10), hub.subscribe("pg.lost") as again:
            await hub.publish("pg.lost", {"n": 2})
            assert (await anext(again)) == {"n": 2}
    finally:
        await admin.close()
        await hub.disconnect()
