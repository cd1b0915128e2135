"""ingestDetectionEventColumns (the columnar bulk input) against ingestDetectionEvents (per event): the
same rows for the same events, errors naming column and index with nothing written, the live event;
on SQLite (INSERT) and PostgreSQL (COPY)."""

from __future__ import annotations

import asyncio
import random
import re

import pytest
from sqlalchemy import text

from domain.validation.events import channel
from graph.ids import decode_id
from tests.conftest import gql, register
from tests.graph.validation_session_setup import (
    CREATE,
    CRITERIA,
    INGEST,
    SESSION,
    START,
    event,
    external_session,
)
from tests.graph.validation_setup import project_with_episodes

COLUMNS = "mutation($s: ID!, $c: JSON!) { ingestDetectionEventColumns(sessionId: $s, columns: $c) }"
FIELDS = "episodeId camera frame timestamp label x y width height score sentAt signalPath".split()
STORED = (
    "episode_id, camera, frame, label, x, y, width, height, score, device_timestamp, "
    "temporal_offset_ms, sent_at, latency_ms IS NOT NULL, signal_path"
)


def as_columns(events: list[dict]) -> dict[str, list]:
    """The same events, one array per field (a field an event lacks is null)."""
    return {f: [e.get(f) for e in events] for f in FIELDS if any(f in e for e in events)}


async def stored(runtime, session: str) -> list[tuple]:
    session_id = decode_id(_gid(session), "TestSession", "id")
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(f"SELECT {STORED} FROM detection_event WHERE session_id = :s ORDER BY id"), {"s": session_id}
        )
        return [tuple(r) for r in rows]


def _gid(value: str):
    from strawberry.relay import GlobalID

    return GlobalID.from_id(value)


@pytest.fixture
async def setup(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, ids, _ = await project_with_episodes(client, criteria=CRITERIA)
    return {"project": project, "ids": ids}


def mixed(episode: str) -> list[dict]:
    """Frames and episode times, a frame with nothing on it, no score, an explicit path, in an order
    that is not by frame."""
    return [
        event(episode, 3, box=(5.5, 6, 7, 8), score=0.25),
        event(episode, 0),
        {"episodeId": episode, "camera": "front", "frame": 2},  # processed, nothing found
        event(episode, None, timestamp=0.05, label="vehicle", score=None),
        event(episode, 1, signalPath="NETWORK") | {"sentAt": None},
        event(episode, 0, label="vehicle", box=(40, 10, 10, 10), score=1),
    ]


async def test_columns_store_the_same_rows_as_events(client, runtime, setup):
    episode = setup["ids"][0]
    per_event, columnar = await external_session(client, setup), await external_session(client, setup)
    events = mixed(episode)
    assert await gql(client, INGEST, s=per_event, e=events) == {"data": {"ingestDetectionEvents": 5}}
    answer = await gql(client, COLUMNS, s=columnar, c=as_columns(events))
    assert answer == {"data": {"ingestDetectionEventColumns": 5}}, answer
    rows = await stored(runtime, columnar)
    assert rows == await stored(runtime, per_event)
    assert [r[2] for r in rows] == [3, 0, 2, 1, 0]  # received order; the timed event on frame 2
    assert rows[2][8] == 1.0 and rows[2][9] == 0.05  # no score: certain; the device time kept
    assert rows[2][10] is not None and rows[0][10] is None  # an offset only for a device time
    assert [r[12] for r in rows] == [True, True, True, False, True]  # latency where sentAt was given
    for session in (per_event, columnar):
        node = (await gql(client, SESSION, id=session))["data"]["node"]
        assert node["framesProcessed"] == 4  # frames 0, 1, 2, 3
    # A second batch appends after the first, in its order.
    more = [event(episode, 5), event(episode, 4)]
    assert (await gql(client, COLUMNS, s=columnar, c=as_columns(more)))["data"] == {
        "ingestDetectionEventColumns": 2
    }
    assert [r[2] for r in await stored(runtime, columnar)][-2:] == [5, 4]


async def test_a_bad_value_names_its_column_and_index_and_writes_nothing(client, runtime, setup):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    good = as_columns([event(episode, 0), event(episode, 1)])
    cases = [
        (good | {"frame": [0, 999]}, "columns.frame[1]"),
        (good | {"x": [1.0, "left"]}, "columns.x[1]"),
        (good | {"width": [20, 0]}, "columns.width[1]"),
        (good | {"score": [0.5, 1.5]}, "columns.score[1]"),
        (good | {"frame": [0, True]}, "columns.frame[1]"),
        (good | {"camera": ["front", None]}, "columns.camera[1]"),
        (good | {"camera": ["side", "front"]}, "columns.camera[0]"),
        (good | {"episodeId": [episode, setup["ids"][1]]}, "columns.episodeId[1]"),
        (good | {"episodeId": [episode, "not an id"]}, "columns.episodeId[1]"),
        (good | {"sentAt": ["yesterday", None]}, "columns.sentAt[0]"),
        (good | {"signalPath": ["CAN", None]}, "columns.signalPath[0]"),
        (good | {"label": [None, "pedestrian"]}, "columns.label[0]"),  # a box without a label
        (good | {"frame": [0]}, "columns.frame"),
        (good | {"colour": ["red", "red"]}, "columns.colour"),
        ({k: v for k, v in good.items() if k != "camera"}, "columns.camera"),
        (good | {"x": 3}, "columns.x"),
        ({"episodeId": [], "camera": []}, "columns"),
    ]
    for columns, field in cases:
        body = await gql(client, COLUMNS, s=session, c=columns)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (field, body)
        assert body["errors"][0]["extensions"]["field"] == field, body
        assert field in body["errors"][0]["message"]
    assert await stored(runtime, session) == []
    node = (await gql(client, SESSION, id=session))["data"]["node"]
    assert node["framesProcessed"] == 0


async def test_a_columnar_batch_is_heard_like_a_batch_of_events(client, runtime, setup):
    episode = setup["ids"][0]
    session = await external_session(client, setup)
    session_id = decode_id(_gid(session), "TestSession", "id")
    async with runtime.events.subscribe(channel(session_id)) as messages:
        answer = await gql(client, COLUMNS, s=session, c=as_columns([event(episode, 0)]))
        assert answer == {"data": {"ingestDetectionEventColumns": 1}}
        heard = await asyncio.wait_for(anext(messages), 5)
    assert heard == {"id": session_id, "status": "RUNNING"}


async def _paths_session(client, setup) -> str:
    """A RUNNING EXTERNAL session over the first two episodes, reporting over NETWORK (default) and
    SERIAL."""
    given = {
        "projectId": setup["project"],
        "name": "device",
        "source": "EXTERNAL",
        "episodeIds": setup["ids"][:2],
        "signalPaths": [{"path": "NETWORK"}, {"path": "SERIAL"}],
    }
    made = await gql(client, CREATE, input=given)
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]["id"]
    assert (await gql(client, START, id=session))["data"]["startTestSession"]["status"] == "RUNNING"
    return session


def _random_event(rng: random.Random, episodes: list[str]) -> dict:
    """An event both inputs accept: by frame or by episode time, with or without a label, score and
    send time, any of the session's paths."""
    first = rng.random() < 0.6
    found: dict = {"episodeId": episodes[0 if first else 1], "camera": "front"}
    if rng.random() < 0.7:
        found["frame"] = rng.randrange(40 if first else 50)
    else:
        found["timestamp"] = rng.choice([round(rng.uniform(0, 1.2), 3), 0.5, 0])
    if rng.random() < 0.85:
        found["label"] = rng.choice(["pedestrian", "vehicle"])
        found |= {"x": rng.randrange(60), "y": round(rng.uniform(0, 40), 2), "width": 10.5, "height": 4}
        found["score"] = rng.choice([None, 1, round(rng.random(), 3)])
    found["sentAt"] = rng.choice([None, "2026-03-01T11:59:59+00:00", "2026-03-01T12:59:59+01:00"])
    found["signalPath"] = rng.choice([None, "NETWORK", "SERIAL"])
    return found


# Faults either input can carry, each to one event (a field left null is left out of the event).
GRAPH_FAULTS = [
    lambda e, ids: e | {"episodeId": ids[2]},
    lambda e, ids: e | {"camera": "rear"},
    lambda e, ids: e | {"frame": 999},
    lambda e, ids: e | {"frame": -1},
    lambda e, ids: e | {"frame": None, "timestamp": None},
    lambda e, ids: e | {"frame": None, "timestamp": 99.0},
    lambda e, ids: e | {"signalPath": "CAN"},
    lambda e, ids: e | {"label": None, "x": 3},
    lambda e, ids: e | {"label": "vehicle", "x": 1, "y": 1, "width": 0, "height": 2},
    lambda e, ids: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": -1},
    lambda e, ids: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": 2, "score": 1.5},
    lambda e, ids: e | {"label": "vehicle", "x": None, "y": 1, "width": 2, "height": 2},
]
_EVENT_FIELD = re.compile(r"events\[(\d+)\]\.(\w+)")


def _in_columns(text: str) -> str:
    """An ingestDetectionEvents error's `events[i].field` as the columnar input names it."""
    return _EVENT_FIELD.sub(lambda m: f"columns.{m.group(2)}[{m.group(1)}]", text)


async def test_random_batches_store_the_same_rows_and_give_the_same_errors(client, runtime, setup):
    """Seeded random batches: clean ones store the same rows either way; one with a fault at a random
    event (or two) is refused by both with the same error, the columnar one naming `columns.<f>[i]`."""
    rng = random.Random(21)
    episodes = setup["ids"]
    per_event, columnar = await _paths_session(client, setup), await _paths_session(client, setup)
    for _ in range(8):
        events = [_random_event(rng, episodes) for _ in range(rng.choice([1, 7, 60]))]
        sent = [{k: v for k, v in e.items() if v is not None} for e in events]
        one = await gql(client, INGEST, s=per_event, e=sent)
        assert "errors" not in one, one
        other = await gql(client, COLUMNS, s=columnar, c=as_columns(events))
        assert other == {"data": {"ingestDetectionEventColumns": one["data"]["ingestDetectionEvents"]}}
    rows = await stored(runtime, columnar)
    assert rows == await stored(runtime, per_event)
    assert len(rows) > 40
    for session in (per_event, columnar):
        assert (await gql(client, SESSION, id=session))["data"]["node"]["framesProcessed"] > 20
    for _ in range(24):
        events = [_random_event(rng, episodes) for _ in range(rng.choice([3, 30]))]
        for _ in range(rng.choice([1, 2])):
            i = rng.randrange(len(events))
            events[i] = rng.choice(GRAPH_FAULTS)(events[i], episodes)
        sent = [{k: v for k, v in e.items() if v is not None} for e in events]
        one = await gql(client, INGEST, s=per_event, e=sent)
        other = await gql(client, COLUMNS, s=columnar, c=as_columns(events))
        assert one["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", one
        expected = (
            _in_columns(one["errors"][0]["message"]),
            _in_columns(one["errors"][0]["extensions"]["field"]),
        )
        assert (other["errors"][0]["message"], other["errors"][0]["extensions"]["field"]) == expected
    assert await stored(runtime, columnar) == rows  # nothing more written
