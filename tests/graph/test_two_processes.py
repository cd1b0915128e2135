"""Two real server processes share live sessions through Redis (or PostgreSQL) broadcasting:
a client subscribed on one sees the edits made through the other."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from gql import gql as document

from tests.conftest import PG_URL, make_user, register
from tests.graph.live import Collector, ws_client
from tests.graph.test_episode_annotations import SAVE, payload
from tests.graph.test_live_sessions import EPISODE_EVENTS, SESSION_EVENTS, kind

ROOT = Path(__file__).resolve().parents[2]
BROADCASTS = {
    "redis": os.environ.get("ANNOGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "postgres": PG_URL.replace("postgresql+asyncpg", "postgres"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _start(env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "graph", "serve", "--port", str(port)],
        env={**env, "ANNOGRAPH_PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    address = f"127.0.0.1:{port}"
    async with asyncio.timeout(30), httpx.AsyncClient() as client:
        while True:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode()[-2000:])
            try:
                if (await client.get(f"http://{address}/health")).status_code == 200:
                    return process, address
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("broadcast", ["redis", "postgres"])
async def test_edits_through_one_process_reach_subscribers_of_the_other(
    broadcast, runtime, settings, tiny_dataset, tmp_path
):
    await register(runtime, tiny_dataset)
    alice = await make_user(runtime, "alice", "ANNOTATOR")
    bob = await make_user(runtime, "bob", "ANNOTATOR")
    env = {
        **os.environ,
        "ANNOGRAPH_VAR_DIR": str(tmp_path),
        "ANNOGRAPH_DATABASE_URL": settings.database_url,
        "ANNOGRAPH_BROADCAST_URL": BROADCASTS[broadcast],
        "ANNOGRAPH_LOG_LEVEL": "WARNING",
    }
    processes = []
    try:
        for _ in range(2):
            processes.append(await _start(env))
        (_, first), (_, second) = processes
        async with ws_client(first, alice) as on_first, ws_client(second, bob) as on_second:
            found = await on_first.execute(
                document("{ datasets { edges { node { episode(index: 0) { id } } } } }")
            )
            episode_id = found["datasets"]["edges"][0]["node"]["episode"]["id"]
            started = await on_first.execute(
                document("mutation($e: ID!) { startAnnotationSession(episodeId: $e) { id } }"),
                variable_values={"e": episode_id},
            )
            session_id = started["startAnnotationSession"]["id"]
            session_events = Collector(on_first, SESSION_EVENTS, {"id": session_id})
            episode_events = Collector(on_first, EPISODE_EVENTS, {"id": episode_id})
            await asyncio.sleep(0.5)

            await on_second.execute(
                document("mutation($id: ID!) { joinAnnotationSession(id: $id) { id } }"),
                variable_values={"id": session_id},
            )
            await on_second.execute(
                document("mutation($s: ID!) { moveCursor(sessionId: $s, frame: 9) { currentFrame } }"),
                variable_values={"s": session_id},
            )
            await on_second.execute(
                document(SAVE), variable_values={"input": payload(episode_id, notes="from two")}
            )

            await session_events.wait_for(
                kind("ParticipantJoined", participant=lambda b: b["participant"]["user"]["name"] == "bob")
            )
            await session_events.wait_for(kind("ParticipantMoved", frame=9))
            saved = await episode_events.wait_for(kind("EpisodeAnnotationSaved", version=1))
            assert next(iter(saved.values()))["annotation"]["notes"] == "from two"
            await session_events.close()
            await episode_events.close()
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(10)
