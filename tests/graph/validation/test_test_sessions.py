"""EXTERNAL test sessions through the graph: ingest, running counts, stop, evaluation, verdict, comparisons."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from strawberry import relay

from persistence.repositories import test_frame as frames_repo
from tests.conftest import gql, http_client, make_user, register
from tests.graph.live import serving
from tests.graph.objects_setup import CREATE as OBJECTS_CREATE
from tests.graph.objects_setup import box
from tests.graph.validation_session_setup import (
    CREATE,
    CRITERIA,
    INGEST,
    JUDGED,
    SESSION,
    START,
    STOP,
    event,
    external_session,
)
from tests.graph.validation_setup import VALIDATE, ground_truth, project_with_episodes


@pytest.fixture
async def setup(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, ids, _ = await project_with_episodes(client, criteria=CRITERIA)
    gt = {
        "ped0": (await ground_truth(client, ids[0], [(0, "pedestrian", 10, 10, 20, 20)]))[0],
        "veh0": (await ground_truth(client, ids[0], [(0, "vehicle", 40, 10, 10, 10)]))[0],
        "ped1": (await ground_truth(client, ids[0], [(1, "pedestrian", 10, 10, 20, 20)]))[0],
        "ped3": (await ground_truth(client, ids[0], [(3, "pedestrian", 10, 10, 20, 20)]))[0],
    }
    await ground_truth(client, ids[0], [(5, "pedestrian", 10, 10, 20, 20)], validated=False)  # not truth yet
    return {"project": project, "ids": ids, "gt": gt}


async def test_an_external_session_is_evaluated_on_what_it_processed(client, setup):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    first = await gql(
        client,
        INGEST,
        s=session,
        e=[
            event(episode, 0, score=0.9),
            event(episode, 0, "vehicle", (42, 10, 10, 10), 0.8),  # IoU 80/120
            event(episode, 0, "cube", (1, 1, 4, 4), 0.99),  # not a label of the project: ignored
        ],
    )
    assert first == {"data": {"ingestDetectionEvents": 3}}
    second = await gql(
        client,
        INGEST,
        s=session,
        e=[
            event(episode, 1, "pedestrian", (0, 30, 10, 10), 0.7),  # misses the box on frame 1
            {"episodeId": episode, "camera": "front", "frame": 2},  # the device saw nothing on frame 2
            event(episode, None, score=0.6, timestamp=0.101),  # 0.101 s is frame 3 (30 fps), 1 ms late
        ],
    )
    assert second == {"data": {"ingestDetectionEvents": 2}}
    running = await gql(client, SESSION, id=session)
    assert "errors" not in running, running
    running = running["data"]["node"]
    assert (
        running["status"] == "RUNNING" and running["framesProcessed"] == 4 and running["evaluation"] is None
    )

    stopped = await gql(client, STOP, id=session)
    assert stopped["data"]["stopTestSession"]["status"] == "STOPPED", stopped
    done = await gql(client, SESSION, id=session)
    assert "errors" not in done, done
    done = done["data"]["node"]
    ev = done["evaluation"]
    assert (ev["frames"], ev["groundTruthBoxes"], ev["detections"], ev["ignoredDetections"]) == (4, 4, 4, 1)
    assert ev["partial"] is True and ev["note"] == "evaluated on the 4 of 40 frames processed"
    overall = ev["overall"]
    assert (overall["truePositives"], overall["falsePositives"], overall["falseNegatives"]) == (3, 1, 1)
    assert overall["precision"] == pytest.approx(0.75) and overall["recall"] == pytest.approx(0.75)
    assert overall["f1"] == pytest.approx(0.75)
    # pedestrian: scores .9 TP, .7 FP, .6 TP over 3 boxes -> 101-point AP (34 * 1 + 33 * 2/3) / 101;
    # vehicle: one pair of IoU 2/3 -> AP50 1, AP50:95 4/10.
    pedestrian = 56 / 101
    assert overall["ap50"] == pytest.approx((pedestrian + 1) / 2, abs=1e-9)
    assert overall["ap50To95"] == pytest.approx((pedestrian + 0.4) / 2, abs=1e-9)
    lo, hi = overall["precisionInterval"]["low"], overall["precisionInterval"]["high"]
    assert 0 < lo < 0.75 < hi <= 1  # Wilson: 3 of 4
    assert overall["f1Interval"]["low"] <= overall["f1Interval"]["high"]
    labels = {m["label"]: m["metrics"] for m in ev["perLabel"]}
    assert labels["vehicle"] == {
        "truePositives": 1,
        "falsePositives": 0,
        "falseNegatives": 0,
        "ap50": pytest.approx(1.0),
        "ap50To95": pytest.approx(0.4),
    }
    assert labels["pedestrian"]["falseNegatives"] == 1
    assert (
        ev["latency"]["count"] == 5
        and 0 < ev["latency"]["p50Ms"] < 60000
        and ev["latency"]["withinTolerance"] <= 1
    )
    assert done["verdict"] == {"passed": False, "reasons": ["precision 0.75 < 0.90"]}
    assert done["all"]["totalCount"] == 5 and done["tp"]["totalCount"] == 3
    by_frame = {e["node"]["frame"]: e["node"] for e in done["tp"]["edges"]}
    assert by_frame[3]["temporalOffsetMs"] == pytest.approx(1.0, abs=1e-6)
    assert by_frame[0]["annotation"]["id"] in (setup["gt"]["ped0"], setup["gt"]["veh0"])
    assert [e["node"] for e in done["fn"]["edges"]] == [
        {
            "frame": 1,
            "label": "pedestrian",
            "annotation": {"id": setup["gt"]["ped1"]},
            "episode": {"index": 0},
        }
    ]
    everything = sorted(e["node"]["frame"] for e in done["all"]["edges"])
    assert len(everything) == 5 and await _all_comparison_frames(client, session, page=2) == everything
    again = await gql(client, STOP, id=session)
    assert again["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "id", "currentStatus": "STOPPED"}
    late = await gql(client, INGEST, s=session, e=[event(episode, 4)])
    assert late["errors"][0]["extensions"]["code"] == "CONFLICT"


async def _all_comparison_frames(client, session: str, page: int) -> list[int]:
    """Walks the comparisons a page at a time, as a client would."""
    query = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on TestSession {
      comparisons(first: $first, after: $after) {
        edges { node { frame } } pageInfo { hasNextPage endCursor } } } } }"""
    frames, after = [], None
    while True:
        found = (await gql(client, query, id=session, first=page, after=after))["data"]["node"]["comparisons"]
        assert len(found["edges"]) <= page
        frames += [e["node"]["frame"] for e in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            return sorted(frames)
        after = found["pageInfo"]["endCursor"]


async def test_a_bad_event_names_its_field_and_the_batch_writes_nothing(client, setup):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    cases = [
        ([event(episode, 0), event(episode, 999)], "events[1].frame"),
        ([event(episode, 0, box=(1, 1, 0, 5))], "events[0].width"),
        ([event(episode, 0, score=1.5)], "events[0].score"),
        ([event(episode, 0) | {"camera": "side"}], "events[0].camera"),
        ([event(setup["ids"][1], 0)], "events[0].episodeId"),
        ([event(episode, None)], "events[0].frame"),
        ([event(episode, None, timestamp=99.0)], "events[0].timestamp"),
        ([{"episodeId": episode, "camera": "front", "frame": 0, "x": 1.0}], "events[0].label"),
    ]
    for events, field in cases:
        body = await gql(client, INGEST, s=session, e=events)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field
    node = (await gql(client, SESSION, id=session))["data"]["node"]
    assert node["framesProcessed"] == 0


async def test_session_input_is_checked(client, setup, runtime, app):
    base = {"projectId": setup["project"], "name": "s", "source": "EXTERNAL"}
    cases = [
        (base | {"matchIou": 0}, "input.matchIou"),
        (base | {"iouThreshold": 0}, "input.matchIou"),  # the deprecated name, checked as the new one
        (base | {"toleranceMs": 0}, "input.toleranceMs"),
        (base | {"cameras": ["side"]}, "input.cameras"),
        (base | {"model": "yolo11n.yaml"}, "input.model"),
        (base | {"source": "MODEL"}, "input.model"),
        (base | {"source": "MODEL", "model": "../etc/passwd"}, "input.model"),
    ]
    for value, field in cases:
        body = await gql(client, CREATE, input=value)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (value, body)
        assert body["errors"][0]["extensions"]["field"] == field
    annotator = await make_user(runtime, "ann", "ANNOTATOR")
    async with http_client(app, annotator) as other:
        refused = await gql(other, CREATE, input=base)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _progress(address: str, token: str, session: str, out: list) -> None:
    async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = """subscription($id: ID!) { testSessionProgress(id: $id) { status framesProcessed framesTotal
          framesPerSecond precision recall etaSeconds } }"""
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": session}}}
            )
        )
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "complete":
                return
            assert message["type"] == "next" and "errors" not in message["payload"], message
            out.append((asyncio.get_running_loop().time(), message["payload"]["data"]["testSessionProgress"]))


async def test_progress_streams_while_running_and_once_at_the_end(client, setup, runtime, admin_token):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    seen: list = []
    async with serving(runtime) as address:
        watcher = asyncio.create_task(_progress(address, admin_token, session, seen))
        await asyncio.sleep(0.3)
        await gql(client, INGEST, s=session, e=[event(episode, 0)])
        await asyncio.sleep(2.3)  # at least two ticks with nothing new
        await gql(client, INGEST, s=session, e=[event(episode, 1, box=(0, 30, 10, 10))])
        await asyncio.sleep(0.5)
        await gql(client, STOP, id=session)
        async with asyncio.timeout(10):
            await watcher
    states = [s for _, s in seen]
    assert states[0]["framesProcessed"] == 0 and states[0]["status"] == "RUNNING"
    assert states[-1]["status"] == "STOPPED" and states[-1]["framesProcessed"] == 2
    # frame 0: the pedestrian found, the vehicle missed; frame 1: a false alarm and a miss
    assert states[-1]["precision"] == pytest.approx(0.5) and states[-1]["recall"] == pytest.approx(1 / 3)
    running = [s for s in states if s["status"] == "RUNNING"]
    assert any(s["framesProcessed"] == 1 and s["precision"] == 1.0 for s in running)
    assert all(s["framesTotal"] == 40 for s in states)
    assert any(s["framesPerSecond"] and s["etaSeconds"] is not None for s in running)
    times = [t for t, s in seen if s["status"] == "RUNNING"]
    assert (
        len(times) >= 3 and max(b - a for a, b in zip(times, times[1:], strict=False)) < 2.5
    )  # a tick at least each second


async def test_concurrent_batches_on_the_same_frames_lose_nothing(client, setup, runtime):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    batches = [[event(episode, f, box=(10 + i, 10, 20, 20), score=0.5) for f in range(4)] for i in range(8)]
    answers = await asyncio.gather(*(gql(client, INGEST, s=session, e=b) for b in batches))
    assert all(a == {"data": {"ingestDetectionEvents": 4}} for a in answers), answers
    # The running counts of each frame take every batch on it (those stored before, and its own).
    async with runtime.sessions() as db:
        running = (await frames_repo.totals(db, [int(relay.GlobalID.from_id(session).node_id)])).popitem()[1]
    assert (running.processed, running.tp, running.fp, running.fn) == (4, 3, 29, 1)
    await gql(client, STOP, id=session)
    done = (await gql(client, SESSION, id=session))["data"]["node"]
    ev = done["evaluation"]
    # 32 detections on frames 0-3: on frames 0, 1 and 3 one pedestrian matched each, the rest are false.
    assert ev["frames"] == 4 and ev["detections"] == 32
    overall = ev["overall"]
    assert (overall["truePositives"], overall["falsePositives"], overall["falseNegatives"]) == (3, 29, 1)


async def test_difficult_boxes_are_ignored_and_a_detection_needs_no_score(client, setup, runtime):
    """Issue 15: a detection on a difficult box counted as a false alarm, a difficult box nobody found as
    a miss, and a detection without a score (optional in the schema) was refused."""
    from domain.validation.test_sessions import session_progress
    from tests.graph.analysis.test_analysis import job_id as number

    episode = setup["ids"][0]
    difficult = [dict(box(episode, frame, 5, 35, 10, 10), difficult=True) for frame in (0, 2)]
    made = await gql(client, OBJECTS_CREATE, input=difficult)
    ids = [b["id"] for b in made["data"]["createObjectAnnotations"]]
    assert (await gql(client, VALIDATE, ids=ids))["data"]["validateObjectAnnotations"][0][
        "review"
    ] == "VALIDATED"
    session = await external_session(client, setup)
    unscored = [
        {k: v for k, v in e.items() if k != "score"}
        for e in (
            event(episode, 0),  # ped0
            event(episode, 0, "vehicle", (40, 10, 10, 10)),  # veh0
            event(episode, 0, "pedestrian", (5, 35, 10, 10)),  # on the difficult box
        )
    ]
    sent = await gql(
        client,
        INGEST,
        s=session,
        e=[*unscored, event(episode, 1, score=0.8), {"episodeId": episode, "camera": "front", "frame": 2}],
    )
    assert sent == {"data": {"ingestDetectionEvents": 4}}, sent
    running = await session_progress(runtime, number(session))
    assert (running.precision, running.recall) == (1.0, 1.0)  # the running counts ignore them too
    await gql(client, STOP, id=session)
    done = (await gql(client, JUDGED, id=session))["data"]["node"]
    ev = done["evaluation"]
    assert (ev["groundTruthBoxes"], ev["detections"], ev["difficultBoxes"], ev["detectionsOnDifficult"]) == (
        5,
        4,
        2,
        1,
    )
    o = ev["overall"]
    assert (o["truePositives"], o["falsePositives"], o["falseNegatives"]) == (3, 0, 0)
    assert o["precision"] == 1.0 and o["recall"] == 1.0 and o["ap50"] == pytest.approx(1.0)
    assert done["verdict"] == {"passed": True, "reasons": [], "notes": []}
    ignored = sorted(
        (e["node"]["frame"], e["node"]["iou"], e["node"]["annotation"]["id"])
        for e in done["ignored"]["edges"]
    )
    assert done["ignored"]["totalCount"] == 2 and ignored == [(0, 1.0, ids[0]), (2, 0.0, ids[1])]


async def test_the_detection_limit_is_a_session_setting_and_the_verdict_says_when_it_cut(client, setup):
    """Issue 15: a perfect detector on a frame with more than 100 objects got AP50 0.66 and failed."""
    episode = setup["ids"][0]
    crowd = [box(episode, 10, 4 * (i % 16), 4 * (i // 16), 3, 3) for i in range(120)]
    made = await gql(client, OBJECTS_CREATE, input=crowd)
    assert "errors" not in made, made
    assert "errors" not in await gql(
        client, VALIDATE, ids=[b["id"] for b in made["data"]["createObjectAnnotations"]]
    )
    criteria = "mutation($p: ID!, $c: PassFailCriteriaInput!) { setPassFailCriteria(projectId: $p, criteria: $c) { id } }"
    assert "errors" not in await gql(client, criteria, p=setup["project"], c={"minAp50": 0.9})
    base = {"projectId": setup["project"], "source": "EXTERNAL", "episodeIds": [episode]}
    for wrong in (0, 10_001):
        refused = await gql(client, CREATE, input=base | {"name": "x", "maxDetections": wrong})
        assert refused["errors"][0]["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "input.maxDetections",
        }
    perfect = [
        event(episode, 10, box=(4 * (i % 16), 4 * (i // 16), 3, 3), score=1 - i / 1000) for i in range(120)
    ]
    found = {}
    for name, limit in (("coco", None), ("raised", 120)):
        extra = {} if limit is None else {"maxDetections": limit}
        made = await gql(client, CREATE, input=base | {"name": name, **extra})
        session = made["data"]["createTestSession"]["id"]
        await gql(client, START, id=session)
        assert (await gql(client, INGEST, s=session, e=perfect)) == {"data": {"ingestDetectionEvents": 120}}
        await gql(client, STOP, id=session)
        found[name] = (await gql(client, JUDGED, id=session))["data"]["node"]
    coco, raised = found["coco"], found["raised"]
    assert coco["maxDetections"] == 100 and raised["maxDetections"] == 120
    ev = coco["evaluation"]
    assert (ev["maxDetections"], ev["detectionsBeyondLimit"], ev["framesBeyondLimit"]) == (100, 20, 1)
    assert ev["overall"]["precision"] == 1.0 and ev["overall"]["recall"] == 1.0
    assert ev["overall"]["ap50"] == pytest.approx(84 / 101)  # recall reaches 100/120: 84 of 101 points
    assert coco["verdict"]["passed"] is False
    assert coco["verdict"]["reasons"] == [
        "AP50 0.83 < 0.90 (20 detection(s) beyond maxDetections 100 per frame and label were left out of AP)"
    ]
    assert coco["verdict"]["notes"] == [
        "AP counted at most 100 detections per frame and label (maxDetections): 20 detection(s) on 1 frame(s) "
        "were left out of AP50 and AP50:95; precision, recall and F1 count every detection"
    ]
    assert raised["evaluation"]["overall"]["ap50"] == pytest.approx(1.0)
    assert raised["evaluation"]["detectionsBeyondLimit"] == 0
    assert raised["verdict"] == {"passed": True, "reasons": [], "notes": []}
