"""ingest_column_checks.py (the columnar batch checked column-wise) against ingest.check_events (event by
event) on randomised batches: a clean batch gives the same rows, in the same order with the same types,
and the same processed frames; a batch with faults injected at random events is refused (None), so
ingest_columns.py reports ingest.py's own error for it. Pure: a made-up session, episodes and times."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from domain.core.errors import BadUserInput
from domain.validation import ingest_column_checks as column_checks
from domain.validation.ingest import BatchContext, DetectionEventInput, _frame_of, check_events
from domain.validation.ingest_columns import COLUMNS, _as_column, _events, checked_columns
from domain.validation.signal_paths import PathTolerance, SignalPath
from persistence.repositories.detection_event import EVENT_COLUMNS

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
FIELDS = list(COLUMNS)
# Send times as a device writes them: one instant in two offsets, a naive time (UTC), microseconds.
SENT = [
    "2026-03-01T11:59:59.950000+00:00",
    "2026-03-01T12:59:59.950000+01:00",
    "2026-03-01T11:59:59.900000",
    "2026-03-01T11:59:58.123456+00:00",
]


def episode(episode_id: int, length: int, cameras: dict[str, int]):
    return SimpleNamespace(id=episode_id, length=length, cameras={c: [n, 48, 64] for c, n in cameras.items()})


def make_context(rng: random.Random) -> tuple[Any, BatchContext]:
    """Episodes 1 and 2 of the session (1's side camera is 5 frames short), 3 not of it, 4 without
    timestamps; 1's times are out of order, with repeats and a missing one, so ties happen."""
    episodes = {
        1: episode(1, 30, {"front": 30, "side": 25}),
        2: episode(2, 20, {"front": 20}),
        3: episode(3, 10, {"front": 10}),
        4: episode(4, 12, {"front": 12}),
    }
    one = np.arange(30) / 10.0
    one[[4, 5]] = one[[5, 4]]  # a late sample
    one[10] = one[9]  # a repeated time
    one[20] = np.nan  # a sample without a time
    times = {1: one, 2: np.arange(20) / 30.0, 4: np.full(12, np.nan)}
    row = SimpleNamespace(id=7, cameras=rng.choice([None, None, ["front", "side"]]))
    paths = [PathTolerance(SignalPath.NETWORK, 100.0), PathTolerance(SignalPath.SERIAL, 50.0)]
    return row, BatchContext({1, 2, 4}, paths, episodes, times)


def clean_event(rng: random.Random) -> dict:
    """An event the per-event checks accept: by frame or by episode time, with or without a label,
    ints or floats, scores or none, any send time and path."""
    episode_id = rng.choice([1, 1, 2])
    camera = rng.choice(["front", "side"]) if episode_id == 1 else "front"
    frames = 25 if camera == "side" else (30 if episode_id == 1 else 20)
    event: dict = {"episode_id": episode_id, "camera": camera}
    if rng.random() < 0.6:
        event["frame"] = rng.randrange(frames)
        if rng.random() < 0.2:
            event["timestamp"] = rng.choice([0.5, 3, float("nan")])  # kept as given, not used
    else:
        top = (frames - 1) / (10.0 if episode_id == 1 else 30.0)
        # Exact sample times, halfway points (ties) and random times, within a second of the ends.
        event["timestamp"] = rng.choice(
            [
                round(rng.uniform(-0.9, min(top, 2.3)), 2),
                rng.randrange(int(min(top, 2.3)) + 1),
                0.45,
                0.95,
                1.0,
                -0.5,
            ]
        )
    if rng.random() < 0.85:
        event["label"] = rng.choice(["pedestrian", "vehicle"])
        event |= {
            "x": rng.choice([rng.uniform(0, 60), rng.randrange(60)]),
            "y": rng.uniform(-5, 40),
            "width": rng.choice([rng.uniform(0.1, 20), rng.randrange(1, 20)]),
            "height": rng.uniform(0.1, 20),
            "score": rng.choice([None, 0, 1, 0.0, 1.0, rng.random()]),
        }
    if rng.random() < 0.8:
        event["sent_at"] = rng.choice(SENT)
    if rng.random() < 0.4:
        event["signal_path"] = rng.choice([None, "NETWORK", "SERIAL"])
    return event


# Faults the per-event checks refuse, each to one event: (name, change).
FAULTS = [
    ("episode not of the session", lambda e: e | {"episode_id": 3}),
    ("unknown episode", lambda e: e | {"episode_id": 99}),
    ("unknown camera", lambda e: e | {"camera": "rear"}),
    ("frame below 0", lambda e: e | {"frame": -1}),
    ("frame past the episode", lambda e: e | {"episode_id": 2, "camera": "front", "frame": 20}),
    ("frame past the camera", lambda e: e | {"episode_id": 1, "camera": "side", "frame": 27}),
    ("a frame beyond 64 bits", lambda e: e | {"frame": 2**70}),
    ("neither frame nor time", lambda e: e | {"frame": None, "timestamp": None}),
    ("time not finite", lambda e: e | {"frame": None, "timestamp": float("inf")}),
    ("time NaN", lambda e: e | {"frame": None, "timestamp": float("nan")}),
    ("time outside", lambda e: e | {"episode_id": 2, "camera": "front", "frame": None, "timestamp": 1.7}),
    ("time before", lambda e: e | {"frame": None, "timestamp": -1.5}),
    (
        "time past the camera",
        lambda e: e | {"episode_id": 1, "camera": "side", "frame": None, "timestamp": 2.7},
    ),
    (
        "episode without times",
        lambda e: e | {"episode_id": 4, "camera": "front", "frame": None, "timestamp": 0.1},
    ),
    ("path not of the session", lambda e: e | {"signal_path": "CAN"}),
    ("box without label", lambda e: e | {"label": None, "x": 1.0}),
    (
        "score without label",
        lambda e: {**e, "label": None, "x": None, "y": None, "width": None, "height": None, "score": 0.5},
    ),
    ("x missing", lambda e: e | {"label": "vehicle", "x": None, "y": 1, "width": 2, "height": 3}),
    ("x NaN", lambda e: e | {"label": "vehicle", "x": float("nan"), "y": 1, "width": 2, "height": 3}),
    ("y infinite", lambda e: e | {"label": "vehicle", "x": 1, "y": float("-inf"), "width": 2, "height": 3}),
    ("x beyond a float", lambda e: e | {"label": "vehicle", "x": 10**400, "y": 1, "width": 2, "height": 3}),
    ("no width", lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 0, "height": 3}),
    ("negative height", lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": -0.5}),
    ("height missing", lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": None}),
    (
        "score above 1",
        lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": 3, "score": 1.5},
    ),
    (
        "score below 0",
        lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": 3, "score": -1},
    ),
    (
        "score NaN",
        lambda e: e | {"label": "vehicle", "x": 1, "y": 1, "width": 2, "height": 3, "score": float("nan")},
    ),
]


def as_inputs(events: list[dict]) -> list[DetectionEventInput]:
    """The events as ingestDetectionEvents takes them (sent_at parsed)."""
    return [
        DetectionEventInput(
            **(e | {"sent_at": datetime.fromisoformat(e["sent_at"]) if e.get("sent_at") else None})
        )
        for e in events
    ]


def as_columns(events: list[dict], rng: random.Random) -> dict[str, list | None]:
    """One array per field; a field no event has is left out or sent as nulls, at random."""
    out: dict[str, list | None] = {}
    for f in FIELDS:
        values = [e.get(f) for e in events]
        if any(v is not None for v in values) or rng.random() < 0.5:
            out[f] = values
    return out


def per_event(row, context, events: list[dict]):
    """ingest.check_events' answer: (rows as tuples, frames), or its error in column terms."""
    try:
        values, frames = check_events(row, context, as_inputs(events), RECEIVED)
    except BadUserInput as exc:
        return "error", _as_column(exc.message), _as_column(exc.field or "")
    except OverflowError:
        return "overflow", None, None
    assert all(tuple(v) == EVENT_COLUMNS for v in values)
    return [tuple(v.values()) for v in values], frames


def columnar(row, context, raw: dict[str, list | None]):
    """ingest_columns.py's answer for the same events: column-wise, or, when that finds a fault,
    check_events on the events the columns hold."""
    arrays, n = checked_columns(raw)
    checked = column_checks.checked_rows(arrays, n, row, context, RECEIVED)
    if checked is not None:
        records, frames = checked
        assert records.columns == EVENT_COLUMNS
        return records.records, frames
    try:
        values, frames = check_events(row, context, _events(arrays, n), RECEIVED)
    except BadUserInput as exc:
        return "error", _as_column(exc.message), _as_column(exc.field or "")
    except OverflowError:
        return "overflow", None, None
    return [tuple(v.values()) for v in values], frames


def typed(rows: list[tuple]) -> str:
    """Rows with each value's type, NaN and offsets comparable (repr)."""
    return repr([[(type(v).__name__, v) for v in r] for r in rows])


@pytest.mark.parametrize("seed", range(40))
def test_a_clean_batch_gives_the_same_rows_column_wise(seed):
    rng = random.Random(seed)
    row, context = make_context(rng)
    events = [clean_event(rng) for _ in range(rng.choice([1, 3, 40, 400]))]
    expected_rows, expected_frames = per_event(row, context, events)
    arrays, n = checked_columns(as_columns(events, rng))
    checked = column_checks.checked_rows(arrays, n, row, context, RECEIVED)
    assert checked is not None, "a clean batch takes the column-wise path"
    records, frames = checked
    assert records.columns == EVENT_COLUMNS
    assert typed(records.records) == typed(expected_rows)
    assert frames == expected_frames
    assert len(records) == sum(e.get("label") is not None for e in events)


@pytest.mark.parametrize("seed", range(60))
def test_a_fault_at_a_random_event_gives_the_per_event_error(seed):
    rng = random.Random(1000 + seed)
    row, context = make_context(rng)
    events = [clean_event(rng) for _ in range(rng.choice([2, 10, 100]))]
    # One fault, or two at different events: the first event's is the one named.
    for _ in range(rng.choice([1, 1, 2])):
        name, change = rng.choice(FAULTS)
        i = rng.randrange(len(events))
        events[i] = change(events[i])
    expected = per_event(row, context, events)
    assert expected[0] in ("error", "overflow"), f"{name}: the per-event checks refuse it"
    arrays, n = checked_columns(as_columns(events, rng))
    assert column_checks.checked_rows(arrays, n, row, context, RECEIVED) is None
    got = columnar(row, context, as_columns(events, rng))
    assert got == expected
    if expected[0] == "error":
        assert expected[2].startswith("columns.") and expected[2] in expected[1]


@pytest.mark.parametrize("name,change", FAULTS, ids=[f[0] for f in FAULTS])
def test_every_fault_is_found_column_wise(name, change):
    rng = random.Random(name)
    row, context = make_context(rng)
    events = [clean_event(rng) for _ in range(20)]
    events[13] = change(events[13])
    expected = per_event(row, context, events)
    assert expected[0] in ("error", "overflow")
    if expected[0] == "error":
        assert "[13]" in expected[2], expected
    arrays, n = checked_columns(as_columns(events, rng))
    assert column_checks.checked_rows(arrays, n, row, context, RECEIVED) is None
    assert columnar(row, context, as_columns(events, rng)) == expected


def test_the_nearest_frame_by_time_is_picked_as_one_by_one():
    """_nearest (vectorised) against ingest._frame_of on times out of order, repeated and missing:
    the same frame (ties: the lower frame) and the same offset, bit for bit."""
    rng = np.random.default_rng(5)
    times = np.round(rng.uniform(0, 3, 200), 1)  # many repeats: ties
    times[rng.integers(0, 200, 10)] = np.nan
    seconds = np.concatenate(
        [np.round(rng.uniform(-0.9, 3.9, 500), 2), times[np.isfinite(times)], [-1.0, 4.0]]
    )
    frames, offsets = column_checks._nearest(times, seconds)
    for t, frame, offset in zip(seconds.tolist(), frames.tolist(), offsets.tolist(), strict=True):
        expected = _frame_of(DetectionEventInput(1, "front", timestamp=t), 200, times, "events[0]")
        assert (frame, offset) == expected


def test_send_times_keep_their_offsets_and_latency():
    """Equal instants sent in different offsets are stored as each was sent; a naive time is UTC."""
    sent = [datetime.fromisoformat(s) for s in SENT[:3]]
    aware, latency = column_checks._latencies([sent[0], sent[1], sent[2], None, sent[1]], RECEIVED)
    aware = list(aware)
    assert aware[0].utcoffset() == timedelta(0) and aware[1].utcoffset() == timedelta(hours=1)
    assert aware[2] == datetime(2026, 3, 1, 11, 59, 59, 900000, tzinfo=UTC)
    assert aware[3] is None and aware[4].tzinfo == timezone(timedelta(hours=1))
    assert list(latency) == [pytest.approx(50.0), pytest.approx(50.0), pytest.approx(100.0), None, 50.0]
