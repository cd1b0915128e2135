"""EXTERNAL test sessions' documents and helpers, shared by the tests that make one: create, start, stop,
ingest, read back (SESSION, JUDGED), an event as a device sends it, and a started session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import gql

CREATE = """mutation($input: CreateTestSessionInput!) { createTestSession(input: $input) { id status source
  framesTotal matchIou toleranceMs criteria { minPrecision } } }"""
START = "mutation($id: ID!) { startTestSession(id: $id) { id status startedAt } }"
STOP = "mutation($id: ID!) { stopTestSession(id: $id) { id status } }"
INGEST = "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
SESSION = """query($id: ID!) { node(id: $id) { ... on TestSession { status framesProcessed framesTotal
  verdict { passed reasons }
  evaluation { frames groundTruthBoxes detections ignoredDetections partial note
    overall { truePositives falsePositives falseNegatives precision recall f1 ap50 ap50To95
              precisionInterval { low high } recallInterval { low high } f1Interval { low high }
              ap50Interval { low high } }
    perLabel { label metrics { truePositives falsePositives falseNegatives ap50 ap50To95 } }
    latency { count p50Ms p95Ms maxMs withinTolerance } }
  tp: comparisons(kind: TP) { totalCount edges { node { frame label iou temporalOffsetMs annotation { id } } } }
  fn: comparisons(kind: FN) { totalCount edges { node { frame label annotation { id } episode { index } } } }
  all: comparisons { totalCount edges { node { frame } } } } } }"""

CRITERIA = {"minPrecision": 0.9, "maxP95LatencyMs": 60000}


def event(episode, frame=None, label="pedestrian", box=(10, 10, 20, 20), score=0.9, **extra):
    x, y, w, h = box
    sent = (datetime.now(UTC) - timedelta(milliseconds=20)).isoformat()
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
        **extra,
    }


async def external_session(client, episodes) -> str:
    made = await gql(
        client,
        CREATE,
        input={
            "projectId": episodes["project"],
            "name": "device 7",
            "source": "EXTERNAL",
            "episodeIds": [episodes["ids"][0]],
        },
    )
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]
    assert session["status"] == "CREATED" and session["framesTotal"] == 40 and session["matchIou"] == 0.5
    started = await gql(client, START, id=session["id"])
    assert started["data"]["startTestSession"]["status"] == "RUNNING", started
    return session["id"]


JUDGED = """query($id: ID!) { node(id: $id) { ... on TestSession { maxDetections verdict { passed reasons notes }
  evaluation { groundTruthBoxes detections difficultBoxes detectionsOnDifficult maxDetections detectionsBeyondLimit
    framesBeyondLimit overall { truePositives falsePositives falseNegatives precision recall ap50 } }
  ignored: comparisons(kind: IGNORED) { totalCount edges { node { frame iou annotation { id } } } } } } }"""
