"""compareTestSessions through the graph: two devices on the same frames, their differences against
their own evaluations, the statements, the seed, and the errors naming their argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.validation.metrics import Detections, GroundTruth
from tests.conftest import gql, register
from tests.domain.validation.paired_bootstrap import paired_intervals
from tests.graph.validation_setup import LINK, PROJECT, ground_truth, project_with_episodes

CREATE = """mutation($input: CreateTestSessionInput!) { createTestSession(input: $input) { id } }"""
START = "mutation($id: ID!) { startTestSession(id: $id) { status } }"
STOP = "mutation($id: ID!) { stopTestSession(id: $id) { status } }"
INGEST = "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
OWN = """query($id: ID!) { node(id: $id) { ... on TestSession { evaluation {
  overall { precision recall f1 ap50 ap50To95 } latency { p95Ms }
  perLabel { label metrics { ap50 recall } } } } } }"""
COMPARE = """query($ids: [ID!]!, $r: Int, $seed: Int, $c: Float) {
  compareTestSessions(ids: $ids, resamples: $r, seed: $seed, confidence: $c) {
    frames labels resamples seed confidence notes baseline { name } sessions { name }
    differences { session { name } baseline { name }
      overall { metric baselineValue value difference interval { low high } statement }
      perLabel { label metrics { metric difference interval { low high } statement } } } } }"""
FRAMES = 20


def _event(episode, frame, label="pedestrian", box=(10, 10, 20, 20), score=0.9):
    x, y, w, h = box
    sent = (datetime.now(UTC) - timedelta(milliseconds=20 + frame)).isoformat()
    return {
        "episodeId": episode,
        "camera": "front",
        "frame": frame,
        "label": label,
        "x": x,
        "y": y,
        "width": w,
        "height": h,
        "score": score,
        "sentAt": sent,
    }


async def _session(client, project, episode, name, events) -> str:
    made = await gql(
        client,
        CREATE,
        input={"projectId": project, "name": name, "source": "EXTERNAL", "episodeIds": [episode]},
    )
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]["id"]
    assert (await gql(client, START, id=session))["data"]["startTestSession"]["status"] == "RUNNING"
    done = await gql(client, INGEST, s=session, e=events)
    assert "errors" not in done, done
    stopped = await gql(client, STOP, id=session)
    assert stopped["data"]["stopTestSession"]["status"] == "STOPPED", stopped
    return session


@pytest.fixture
async def setup(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, ids, _ = await project_with_episodes(client)
    episode = ids[0]
    await ground_truth(
        client,
        episode,
        [(f, "pedestrian", 10, 10, 20, 20) for f in range(FRAMES)]
        + [(f, "vehicle", 40, 10, 10, 10) for f in range(FRAMES)],
    )
    # A finds every box; B finds the vehicles and every second pedestrian, and adds a false one here and there
    a = [_event(episode, f) for f in range(FRAMES)] + [
        _event(episode, f, "vehicle", (41, 10, 10, 10), 0.8) for f in range(FRAMES)
    ]
    a += [_event(episode, f, "pedestrian", (30, 30, 8, 8), 0.85 + f / 1000) for f in (3, 9)]
    b = [_event(episode, f, score=0.5 + f / 100) for f in range(0, FRAMES, 2)]
    b += [_event(episode, f, "vehicle", (40, 11, 10, 10), 0.7) for f in range(FRAMES)]
    b += [_event(episode, f, "pedestrian", (0, 30, 8, 8), 0.95) for f in range(1, FRAMES, 5)]
    sessions = {
        "a": await _session(client, project, episode, "device A", a),
        "b": await _session(client, project, episode, "device B", b),
    }
    return {"project": project, "ids": ids, "sessions": sessions, "events": {"a": a, "b": b}}


async def test_two_devices_are_compared_on_their_common_frames(client, setup):
    a, b = setup["sessions"]["a"], setup["sessions"]["b"]
    body = await gql(client, COMPARE, ids=[a, b], r=300, seed=5)
    assert "errors" not in body, body
    found = body["data"]["compareTestSessions"]
    assert found["frames"] == FRAMES and found["labels"] == ["pedestrian", "vehicle"]
    assert (found["resamples"], found["seed"], found["confidence"]) == (300, 5, 0.95)
    assert found["baseline"] == {"name": "device A"} and found["notes"] == []
    (diff,) = found["differences"]
    assert diff["session"] == {"name": "device B"} and diff["baseline"] == {"name": "device A"}
    overall = {m["metric"]: m for m in diff["overall"]}
    assert list(overall) == ["AP50", "AP50_95", "F1", "PRECISION", "RECALL", "LATENCY_P95"]

    # at the full sample: the difference of the sessions' own evaluations
    own = {}
    for key, session in (("a", a), ("b", b)):
        ev = (await gql(client, OWN, id=session))["data"]["node"]["evaluation"]
        own[key] = ev["overall"] | {"latency": ev["latency"]["p95Ms"]}
    for metric, name in (
        ("AP50", "ap50"),
        ("AP50_95", "ap50To95"),
        ("F1", "f1"),
        ("PRECISION", "precision"),
        ("RECALL", "recall"),
        ("LATENCY_P95", "latency"),
    ):
        m = overall[metric]
        assert m["baselineValue"] == pytest.approx(own["a"][name], abs=1e-12), metric
        assert m["value"] == pytest.approx(own["b"][name], abs=1e-12), metric
        assert m["difference"] == pytest.approx(own["b"][name] - own["a"][name], abs=1e-12), metric
        assert m["interval"]["low"] <= m["difference"] <= m["interval"]["high"], metric

    recall = overall["RECALL"]
    assert recall["difference"] == pytest.approx(-0.25)
    assert recall["interval"]["high"] < 0
    lo, hi = recall["interval"]["low"], recall["interval"]["high"]
    assert recall["statement"] == f"device B has lower recall than device A: -0.250 [{lo:.3f}, {hi:.3f}]"
    labels = {lab["label"]: {m["metric"]: m for m in lab["metrics"]} for lab in diff["perLabel"]}
    assert set(labels) == {"pedestrian", "vehicle"}
    assert labels["pedestrian"]["RECALL"]["difference"] == pytest.approx(-0.5)
    assert labels["pedestrian"]["RECALL"]["statement"].startswith(
        "device B has lower recall on pedestrian than device A: -0.500 ["
    )
    # both find every vehicle: no resample shows a difference in its recall
    vehicle = labels["vehicle"]["RECALL"]
    assert vehicle["difference"] == 0 and vehicle["interval"] == {"low": 0, "high": 0}
    assert vehicle["statement"] == (
        "no difference shown in recall on vehicle between device B and device A at 95%: +0.000 [0.000, 0.000]"
    )

    # the intervals are those of a plain paired bootstrap with the same seed (tests/domain/validation)
    truth = GroundTruth(
        [f for f in range(FRAMES)] * 2,
        [0] * FRAMES + [1] * FRAMES,
        [(10, 10, 20, 20)] * FRAMES + [(40, 10, 10, 10)] * FRAMES,
    )
    names = {"pedestrian": 0, "vehicle": 1}

    def detections(events) -> Detections:
        return Detections(
            [e["frame"] for e in events],
            [names[e["label"]] for e in events],
            [(e["x"], e["y"], e["width"], e["height"]) for e in events],
            [e["score"] for e in events],
        )

    plain = paired_intervals(
        truth, detections(setup["events"]["a"]), detections(setup["events"]["b"]), None, FRAMES, 2, 300, 5
    )
    assert len(plain) == 5 + 3 * 2  # AP50, AP50:95, F1, precision, recall; AP50, F1, recall per label
    for key, (low, high) in plain.items():
        metric, label = key if isinstance(key, tuple) else (key, None)
        found_metric = overall[metric] if label is None else labels[found["labels"][label]][metric]
        assert found_metric["interval"] == {
            "low": pytest.approx(low, abs=1e-12),
            "high": pytest.approx(high, abs=1e-12),
        }, key

    # the seed makes it repeatable; another seed draws other frames
    again = (await gql(client, COMPARE, ids=[a, b], r=300, seed=5))["data"]["compareTestSessions"]
    assert again == found
    other = (await gql(client, COMPARE, ids=[a, b], r=300, seed=6))["data"]["compareTestSessions"]
    assert other["differences"][0]["overall"][0]["interval"] != diff["overall"][0]["interval"]
    # a lower confidence: the same resamples, a narrower interval
    narrow = (await gql(client, COMPARE, ids=[a, b], r=300, seed=5, c=0.5))["data"]["compareTestSessions"]
    half = {m["metric"]: m for m in narrow["differences"][0]["overall"]}["F1"]["interval"]
    wide = overall["F1"]["interval"]
    assert wide["low"] < half["low"] <= half["high"] < wide["high"]
    # the other way round, the differences change sign
    swapped = (await gql(client, COMPARE, ids=[b, a], r=300, seed=5))["data"]["compareTestSessions"]
    back = {m["metric"]: m for m in swapped["differences"][0]["overall"]}
    assert back["RECALL"]["difference"] == pytest.approx(0.25)
    assert back["RECALL"]["statement"].startswith("device A has higher recall than device B: +0.250 [")


async def test_comparison_errors_name_the_argument(client, setup):
    a, b = setup["sessions"]["a"], setup["sessions"]["b"]
    episode = setup["ids"][0]
    # a session of another project, and one on frames the others never processed
    made = await gql(client, PROJECT, input={"name": "other", "labels": ["pedestrian"]})
    other_project = made["data"]["createProject"]["id"]
    assert "errors" not in await gql(client, LINK, p=other_project, e=[episode], r=None)
    elsewhere = await _session(client, other_project, episode, "device C", [_event(episode, 0)])
    apart = await _session(client, setup["project"], episode, "device D", [_event(episode, 30)])
    unknown = "VGVzdFNlc3Npb246OTk5OTk="  # TestSession:99999
    cases = [
        ({"ids": [a]}, "BAD_USER_INPUT", "ids", "at least 2"),
        ({"ids": [a, a]}, "BAD_USER_INPUT", "ids[1]", "named twice"),
        ({"ids": [a, unknown]}, "NOT_FOUND", "ids[1]", "no test session 99999"),
        ({"ids": [a, elsewhere]}, "BAD_USER_INPUT", "ids", "different projects"),
        ({"ids": [a, b, apart]}, "BAD_USER_INPUT", "ids", "no processed frame in common"),
        ({"ids": [a, b], "r": 0}, "BAD_USER_INPUT", "resamples", "1..10000"),
        ({"ids": [a, b], "c": 1.0}, "BAD_USER_INPUT", "confidence", "(0, 1)"),
        ({"ids": [a, setup["project"]]}, "BAD_USER_INPUT", "ids[1]", "TestSession"),
    ]
    for variables, code, field, words in cases:
        body = await gql(client, COMPARE, **variables)
        assert body["data"] is None, variables
        error = body["errors"][0]
        assert error["extensions"]["code"] == code and error["extensions"]["field"] == field, (
            variables,
            body,
        )
        assert words in error["message"], (variables, error)


DASHBOARD = """query($id: ID!) { node(id: $id) { ... on Project {
  sessionTrends { metric points { session { name } at value } best { session { name } value } }
  bestSessions { metric session { name } value } } } }"""


async def test_the_project_dashboard_shows_the_best_session_and_each_metric_over_time(client, setup):
    a, b = setup["sessions"]["a"], setup["sessions"]["b"]
    own = {}
    for name, session in (("device A", a), ("device B", b)):
        ev = (await gql(client, OWN, id=session))["data"]["node"]["evaluation"]
        own[name] = ev["overall"] | {"latency": ev["latency"]["p95Ms"]}
    # a session not evaluated yet is not on the dashboard
    made = await gql(
        client, CREATE, input={"projectId": setup["project"], "name": "device C", "source": "EXTERNAL"}
    )
    assert "errors" not in made
    body = await gql(client, DASHBOARD, id=setup["project"])
    assert "errors" not in body, body
    project = body["data"]["node"]
    trends = {t["metric"]: t for t in project["sessionTrends"]}
    assert list(trends) == ["AP50", "AP50_95", "F1", "PRECISION", "RECALL", "LATENCY_P95"]
    names = {
        "AP50": "ap50",
        "AP50_95": "ap50To95",
        "F1": "f1",
        "PRECISION": "precision",
        "RECALL": "recall",
        "LATENCY_P95": "latency",
    }
    for metric, key in names.items():
        points = trends[metric]["points"]
        assert [p["session"]["name"] for p in points] == ["device A", "device B"]  # by time
        assert points[0]["at"] <= points[1]["at"]
        assert [p["value"] for p in points] == [own["device A"][key], own["device B"][key]]
        lower = metric == "LATENCY_P95"
        want = min if lower else max
        best = want(("device A", "device B"), key=lambda n: own[n][key])
        assert trends[metric]["best"] == {"session": {"name": best}, "value": own[best][key]}
    assert trends["RECALL"]["best"]["session"]["name"] == "device A"
    assert project["bestSessions"] == [
        {"metric": m, "session": trends[m]["best"]["session"], "value": trends[m]["best"]["value"]}
        for m in trends
    ]
