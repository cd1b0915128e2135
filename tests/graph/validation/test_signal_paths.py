"""The device's signal path: a session names the paths its device reports over with a tolerance each,
every event travels one (its own or the session's default), the latency is broken down by path, and the
bridge in bench/bridges reads a serial line (pyserial's loop://) or a CAN bus (python-can's virtual bus)
and posts through ingestDetectionEvents to a real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import can
import pytest
import serial
from sqlalchemy import select

from bench.bridges.device_bridge import CAN_BOX, bridge, can_readings, serial_readings
from persistence.tables import DetectionEventRow
from tests.conftest import gql, register
from tests.graph.live import serving
from tests.graph.validation_setup import ground_truth, project_with_episodes

CREATE = """mutation($input: CreateTestSessionInput!) { createTestSession(input: $input) {
  id signalPaths { path toleranceMs default } } }"""
START = "mutation($id: ID!) { startTestSession(id: $id) { status } }"
STOP = "mutation($id: ID!) { stopTestSession(id: $id) { status } }"
INGEST = "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
BY_PATH = """query($id: ID!) { node(id: $id) { ... on TestSession { signalPaths { path toleranceMs default }
  evaluation { latency { count } overall { truePositives }
    latencyByPath { path toleranceMs count p50Ms p95Ms maxMs withinTolerance } } } } }"""
PATHS = ["NETWORK", "SERIAL", "CAN", "GPIO"]


def _event(episode, frame, *, late_ms: float, path: str | None = None):
    sent = (datetime.now(UTC) - timedelta(milliseconds=late_ms)).isoformat()
    found = {
        "episodeId": episode,
        "camera": "front",
        "frame": frame,
        "label": "pedestrian",
        "x": 10,
        "y": 10,
        "width": 20,
        "height": 20,
        "score": 0.9,
        "sentAt": sent,
    }
    return found | ({"signalPath": path} if path else {})


async def _running(client, project, episode, paths=None, tolerance=None) -> dict:
    given = {"projectId": project, "name": "device", "source": "EXTERNAL", "episodeIds": [episode]}
    if paths is not None:
        given["signalPaths"] = paths
    if tolerance is not None:
        given["toleranceMs"] = tolerance
    made = await gql(client, CREATE, input=given)
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]
    assert (await gql(client, START, id=session["id"]))["data"]["startTestSession"]["status"] == "RUNNING"
    return session


async def _stored_paths(runtime, session_gid: str) -> list[str]:
    """The signal paths stored on the session's detections, straight from the table, in arrival order."""
    import base64

    session_id = int(base64.b64decode(session_gid).decode().split(":")[1])
    async with runtime.sessions() as s:
        query = select(DetectionEventRow.signal_path).where(DetectionEventRow.session_id == session_id)
        return list((await s.execute(query.order_by(DetectionEventRow.id))).scalars())


@pytest.fixture
async def setup(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, ids, _ = await project_with_episodes(client)
    await ground_truth(client, ids[0], [(f, "pedestrian", 10, 10, 20, 20) for f in range(8)])
    return {"project": project, "episode": ids[0]}


async def test_latency_is_broken_down_by_each_path_with_its_tolerance(client, runtime, setup):
    episode = setup["episode"]
    paths = [{"path": p, "toleranceMs": 5000.0 * (i + 1)} for i, p in enumerate(PATHS)]
    session = await _running(client, setup["project"], episode, paths, tolerance=1000)
    assert session["signalPaths"] == [
        {"path": p["path"], "toleranceMs": p["toleranceMs"], "default": i == 0} for i, p in enumerate(paths)
    ]
    # per path: one event on time and one 12 s late (over NETWORK's 5 s and SERIAL's 10 s, within CAN's
    # 15 s and GPIO's 20 s); NETWORK's come without a path (the default)
    events = []
    for i, path in enumerate(PATHS):
        named = None if path == "NETWORK" else path
        events += [
            _event(episode, 2 * i, late_ms=1, path=named),
            _event(episode, 2 * i + 1, late_ms=12_000, path=named),
        ]
    done = await gql(client, INGEST, s=session["id"], e=events)
    assert done == {"data": {"ingestDetectionEvents": 8}}, done
    assert await _stored_paths(runtime, session["id"]) == [p for p in PATHS for _ in range(2)]
    assert (await gql(client, STOP, id=session["id"]))["data"]["stopTestSession"]["status"] == "STOPPED"
    ev = (await gql(client, BY_PATH, id=session["id"]))["data"]["node"]["evaluation"]
    assert ev["latency"]["count"] == 8 and ev["overall"]["truePositives"] == 8
    by_path = {p["path"]: p for p in ev["latencyByPath"]}
    assert [p["path"] for p in ev["latencyByPath"]] == PATHS
    for i, path in enumerate(PATHS):
        found = by_path[path]
        assert found["count"] == 2 and found["toleranceMs"] == 5000.0 * (i + 1)
        assert 12_000 <= found["maxMs"] < 60_000 and 0 < found["p50Ms"] < found["maxMs"]
        assert found["withinTolerance"] == (0.5 if path in ("NETWORK", "SERIAL") else 1.0), path


async def test_a_session_without_paths_reports_over_the_network(client, runtime, setup):
    episode = setup["episode"]
    session = await _running(client, setup["project"], episode, tolerance=250)
    assert session["signalPaths"] == [{"path": "NETWORK", "toleranceMs": 250.0, "default": True}]
    done = await gql(
        client, INGEST, s=session["id"], e=[_event(episode, 0, late_ms=1), _event(episode, 1, late_ms=1)]
    )
    assert done == {"data": {"ingestDetectionEvents": 2}}
    refused = await gql(client, INGEST, s=session["id"], e=[_event(episode, 2, late_ms=1, path="CAN")])
    error = refused["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "events[0].signalPath"}
    assert "'CAN' is not a signal path of this session (NETWORK)" in error["message"]
    assert await _stored_paths(runtime, session["id"]) == ["NETWORK", "NETWORK"]
    await gql(client, STOP, id=session["id"])
    ev = (await gql(client, BY_PATH, id=session["id"]))["data"]["node"]["evaluation"]
    (network,) = ev["latencyByPath"]
    assert network["path"] == "NETWORK" and network["count"] == 2 and network["toleranceMs"] == 250.0


async def test_a_batch_with_a_path_the_session_lacks_writes_nothing(client, runtime, setup):
    episode = setup["episode"]
    session = await _running(
        client, setup["project"], episode, [{"path": "SERIAL"}, {"path": "GPIO", "toleranceMs": 2}]
    )
    assert session["signalPaths"][0] == {"path": "SERIAL", "toleranceMs": 100.0, "default": True}
    body = await gql(
        client,
        INGEST,
        s=session["id"],
        e=[_event(episode, 0, late_ms=1), _event(episode, 1, late_ms=1, path="CAN")],
    )
    assert body["errors"][0]["extensions"]["field"] == "events[1].signalPath"
    assert await _stored_paths(runtime, session["id"]) == []


async def test_path_settings_are_checked(client, setup):
    base = {"projectId": setup["project"], "name": "s", "source": "EXTERNAL"}
    cases = [
        (base | {"signalPaths": []}, "input.signalPaths"),
        (base | {"signalPaths": [{"path": "CAN"}, {"path": "CAN"}]}, "input.signalPaths[1].path"),
        (base | {"signalPaths": [{"path": "CAN", "toleranceMs": 0}]}, "input.signalPaths[0].toleranceMs"),
        (base | {"source": "MODEL", "model": "m.pt", "signalPaths": [{"path": "CAN"}]}, "input.signalPaths"),
    ]
    for value, field in cases:
        body = await gql(client, CREATE, input=value)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (value, body)
        assert body["errors"][0]["extensions"]["field"] == field, (value, body)


async def test_the_bridge_posts_a_serial_line_and_a_can_bus(client, runtime, admin_token, setup):
    episode = setup["episode"]
    session = await _running(client, setup["project"], episode, [{"path": "SERIAL"}, {"path": "CAN"}])
    # a serial device: JSON lines on pyserial's loopback port
    port = serial.serial_for_url("loop://", timeout=0.2)
    for f in range(3):
        line = {"frame": f, "label": "pedestrian", "box": [10, 10, 20, 20], "score": 0.8}
        port.write((json.dumps(line) + "\n").encode())
    # a CAN device: CAN FD frames on python-can's virtual bus (one channel, two ends)
    channel = f"annograph-{uuid.uuid4().hex}"
    device = can.Bus(interface="virtual", channel=channel, fd=True)
    reader = can.Bus(interface="virtual", channel=channel, fd=True)
    try:
        for f in range(3, 6):
            data = CAN_BOX.pack(f, 11, 10, 20, 20, 0.7)
            device.send(can.Message(arbitration_id=0x100, data=data, is_fd=True, is_extended_id=False))
        async with serving(runtime) as address:
            url = f"http://{address}/graphql"
            serial_stored = await asyncio.to_thread(
                bridge, serial_readings(port), url, admin_token, session["id"], episode, batch=2
            )
            can_stored = await asyncio.to_thread(
                bridge,
                can_readings(reader, ["pedestrian"], idle=0.2),
                url,
                admin_token,
                session["id"],
                episode,
            )
    finally:
        device.shutdown()
        reader.shutdown()
        port.close()
    assert (serial_stored, can_stored) == (3, 3)
    assert await _stored_paths(runtime, session["id"]) == ["SERIAL"] * 3 + ["CAN"] * 3
    await gql(client, STOP, id=session["id"])
    ev = (await gql(client, BY_PATH, id=session["id"]))["data"]["node"]["evaluation"]
    assert ev["overall"]["truePositives"] == 6
    assert [(p["path"], p["count"]) for p in ev["latencyByPath"]] == [("SERIAL", 3), ("CAN", 3)]


def test_the_readme_shows_the_bridge_as_it_runs():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text()
    source = (root / "bench/bridges/device_bridge.py").read_text()
    core = source[source.index("# fmt: off\n") + len("# fmt: off\n") : source.index("# fmt: on")].rstrip()
    assert f"```python\n{core}\n```" in readme
    assert len(core.splitlines()) <= 35
