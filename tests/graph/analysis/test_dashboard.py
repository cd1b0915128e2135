"""The dashboard: counts, chart series and dashboardUpdates over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import websockets

from tests.conftest import gql, register
from tests.graph.annotations.test_episode_annotations import SAVE, payload
from tests.graph.live import serving
from tests.graph.validation_session_setup import INGEST, STOP, event, external_session
from tests.graph.validation_setup import ground_truth, project_with_episodes

DASHBOARD = """{ dashboard { stats { datasets episodes annotatedEpisodes boxes validatedShare projects testSessions
  passRate } annotationsPerDay(days: 3) { day episodeAnnotations boxes } ratingDistribution { rating count }
  testSessionSeries { precision recall passed session { name } } } }"""


async def test_counts_and_series_follow_the_data(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    empty = (await gql(client, DASHBOARD))["data"]["dashboard"]
    assert empty["stats"] == {
        "datasets": 1,
        "episodes": 3,
        "annotatedEpisodes": 0,
        "boxes": 0,
        "validatedShare": None,
        "projects": 0,
        "testSessions": 0,
        "passRate": None,
    }
    assert [d["boxes"] for d in empty["annotationsPerDay"]] == [0, 0, 0]
    assert empty["testSessionSeries"] == []

    project, ids, _ = await project_with_episodes(client, criteria={"minPrecision": 0.5})
    await ground_truth(client, ids[0], [(0, "pedestrian", 10, 10, 20, 20), (1, "pedestrian", 10, 10, 20, 20)])
    await ground_truth(client, ids[1], [(0, "vehicle", 1, 1, 5, 5)], validated=False)
    saved = await gql(client, SAVE, input=payload(ids[2]))
    assert "errors" not in saved, saved
    session = await external_session(client, {"project": project, "ids": ids})
    await gql(client, INGEST, s=session, e=[event(ids[0], 0)])
    await gql(client, STOP, id=session)

    board = (await gql(client, DASHBOARD))["data"]["dashboard"]
    assert board["stats"] == {
        "datasets": 1,
        "episodes": 3,
        "annotatedEpisodes": 3,
        "boxes": 3,
        "validatedShare": 2 / 3,
        "projects": 1,
        "testSessions": 1,
        "passRate": 1.0,
    }
    today = datetime.now(UTC).date().isoformat()
    assert board["annotationsPerDay"][-1] == {"day": today, "episodeAnnotations": 1, "boxes": 3}
    assert {r["rating"]: r["count"] for r in board["ratingDistribution"]} == {
        "SUCCESS": 0,
        "PARTIAL": 1,
        "FAILURE": 0,
        "UNKNOWN": 0,
    }
    # The device found the box on frame 0 and processed nothing else: precision 1, recall 1 on that frame.
    assert board["testSessionSeries"] == [
        {"precision": 1.0, "recall": 1.0, "passed": True, "session": {"name": "device 7"}}
    ]
    bad = await gql(client, "{ dashboard { annotationsPerDay(days: 0) { day } } }")
    assert bad["errors"][0]["extensions"]["field"] == "days"


async def test_updates_stream_when_counts_change_and_only_then(client, runtime, tiny_dataset, admin_token):
    await register(runtime, tiny_dataset)
    seen: list[tuple[float, dict]] = []

    async def watch(address: str) -> None:
        async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {admin_token}"}})
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            query = "subscription { dashboardUpdates { projects boxes } }"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            while True:
                message = json.loads(await ws.recv())
                assert message["type"] == "next", message
                seen.append(
                    (asyncio.get_running_loop().time(), message["payload"]["data"]["dashboardUpdates"])
                )

    async with serving(runtime) as address:
        watcher = asyncio.create_task(watch(address))
        await asyncio.sleep(2.5)  # nothing changes: one message only
        assert [s for _, s in seen] == [{"projects": 0, "boxes": 0}]
        for name in ("a", "b", "c"):  # three changes inside one second arrive as at most two updates
            await gql(
                client,
                "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
                i={"name": name},
            )
        await asyncio.sleep(2.5)
        watcher.cancel()
    states = [s for _, s in seen]
    assert states[-1] == {"projects": 3, "boxes": 0}
    assert 2 <= len(states) <= 3
    times = [t for t, _ in seen]
    assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))
