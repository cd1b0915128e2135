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
from tests.graph.annotations.test_episode_annotations import SAVE, payload
from tests.graph.annotations.test_live_sessions import EPISODE_EVENTS, SESSION_EVENTS, kind
from tests.graph.live import Collector, ws_client

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


async def _until_heard(collector: Collector, act, heard, tries: int = 20) -> None:
    """Do `act(attempt)` until `collector` receives what `heard(attempt)` matches."""
    for attempt in range(1, tries + 1):
        await act(attempt)
        try:
            await collector.wait_for(heard(attempt), timeout=1.0)
            return
        except TimeoutError:
            continue
    raise AssertionError(f"the subscription heard nothing after {tries} attempts")


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
            # graphql-transport-ws does not say when a subscription is live on the server: act from
            # the first process until each subscription hears it (a fixed sleep raced under load),
            # then act from the second.
            move = "mutation($s: ID!, $f: Int!) { moveCursor(sessionId: $s, frame: $f) { currentFrame } }"

            async def move_on_first(frame: int) -> None:
                await on_first.execute(document(move), variable_values={"s": session_id, "f": frame})

            await _until_heard(
                session_events, move_on_first, lambda frame: kind("ParticipantMoved", frame=frame)
            )
            saved_version: list[int] = []

            async def save_on_first(_attempt: int) -> None:
                extra = {"expectedVersion": saved_version[-1]} if saved_version else {}
                done = await on_first.execute(
                    document(SAVE), variable_values={"input": payload(episode_id, notes="probe", **extra)}
                )
                saved_version.append(done["saveEpisodeAnnotation"]["version"])

            await _until_heard(
                episode_events,
                save_on_first,
                lambda _attempt: kind("EpisodeAnnotationSaved", by=lambda b: b["by"]["name"] == "alice"),
            )

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
            saved = await episode_events.wait_for(
                kind("EpisodeAnnotationSaved", version=1, by=lambda b: b["by"]["name"] == "bob")
            )
            assert next(iter(saved.values()))["annotation"]["notes"] == "from two"
            await session_events.close()
            await episode_events.close()
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(10)
