"""ingest.py's per-event checks and rows, column by column, for a columnar batch (ingest_columns.py).

A columnar batch of n events arrives as one list per field (ingest_columns.COLUMNS, each already of
the right types, sent_at parsed). Here every event is checked with a few numpy operations per column
instead of Python per event: episode and camera once per distinct value, frames and episode times
(searched in the episode's sorted times with _frame_of's tie rule), box values, labels, signal paths
once per distinct name, latency once per distinct send time; the COPY records are then zipped from
the columns. checked_rows answers only whether the batch is clean: a faulty batch gives None and the
caller runs ingest.check_events on the same events, so the error (the first faulty event, its first
faulty field) is ingest.py's own, word for word. Faults are rare, so the clean batch is the one made
fast; anything unusual (an int beyond 64 bits, say) also takes the per-event path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import compress, repeat

import numpy as np

from domain.core.errors import BadUserInput
from domain.validation.ingest import (
    DEFAULT_SCORE,
    BatchContext,
    _time_order,
    camera_frames,
    sent_latency,
)
from domain.validation.signal_paths import resolve_path
from persistence.repositories.detection_event import EVENT_COLUMNS, EventRecords
from persistence.tables import TestSessionRow

_BOX = ("x", "y", "width", "height", "score")


class _Fault(Exception):
    """Some event is at fault (which one is ingest.check_events' to say)."""


def timed_episodes(columns: dict[str, list | None], allowed: set[int]) -> set[int]:
    """The session's episodes some event names by time (no frame, a timestamp): ingest.py reads their
    frame times."""
    frames, stamps = columns["frame"], columns["timestamp"]
    if stamps is None or (frames is not None and None not in frames):
        return set()
    frames = frames or [None] * len(stamps)
    episode_ids: list = columns["episode_id"] or []
    return {
        e
        for e, f, t in zip(episode_ids, frames, stamps, strict=True)
        if f is None and t is not None and e in allowed
    }


def checked_rows(
    columns: dict[str, list | None],
    count: int,
    row: TestSessionRow,
    context: BatchContext,
    received: datetime,
) -> tuple[EventRecords, set[tuple[int, str, int]]] | None:
    """The batch's detection rows (as ingest.check_events would build them, in event order) and the
    (episode id, camera, frame) keys it processed; None when some event is at fault.

    `columns`: field -> list of `count` values or None (absent), sent_at as datetimes; `context` as
    ingest.batch_context gives it for timed_episodes(columns); `received`: the receive time (aware)."""
    try:
        return _rows(columns, count, row, context, received)
    except (_Fault, OverflowError):  # OverflowError: an int beyond int64/float64, left to ingest.py
        return None


def _rows(columns, n: int, row: TestSessionRow, context: BatchContext, received: datetime):
    episode_ids: list[int] = columns["episode_id"]
    cameras: list[str] = columns["camera"]
    episode_of, episode_index = _episodes(episode_ids, context)
    pair_index, streams = _cameras(episode_ids, cameras, episode_of, row)
    frames, offsets = _frames(columns, n, episode_of, episode_index, context)
    if not np.all(frames < streams[pair_index]):
        raise _Fault
    paths = _paths(columns["signal_path"], context)
    labelled = _labelled(columns, n)
    scores = _check_boxes(columns, n, labelled)

    frame_list = frames.tolist()
    keys = set(zip(episode_ids, cameras, frame_list, strict=True))
    sent, latency = _latencies(columns["sent_at"], received)
    # Absent columns repeat their one value: zip stops at the listed columns' length, n.
    by_name: dict[str, Iterable] = {
        "session_id": repeat(row.id),
        "episode_id": episode_ids,
        "camera": cameras,
        "frame": frame_list,
        "label": columns["label"] or repeat(None),
        **{name: columns[name] or repeat(None) for name in _BOX[:4]},
        "score": scores,
        "device_timestamp": columns["timestamp"] or repeat(None),
        "temporal_offset_ms": offsets,
        "sent_at": sent,
        "received_at": repeat(received),
        "latency_ms": latency,
        "signal_path": paths,
    }
    records = zip(*(by_name[c] for c in EVENT_COLUMNS), strict=False)  # repeat() is endless
    # Only labelled events are detections; an event without a label marks its frame processed.
    kept = list(records) if labelled is None else list(compress(records, labelled))
    return EventRecords(EVENT_COLUMNS, kept), keys


def _codes(values: Sequence) -> tuple[dict, np.ndarray]:
    """The distinct values (first-seen order) -> their number, and each value's number (intp, n)."""
    index = {v: k for k, v in enumerate(dict.fromkeys(values))}
    return index, np.fromiter(map(index.__getitem__, values), np.intp, len(values))


def _episodes(episode_ids: list[int], context: BatchContext):
    """The distinct episodes (each one of the session's) and each event's number among them."""
    index, codes = _codes(episode_ids)
    episodes = []
    for episode_id in index:
        episode = context.episodes.get(episode_id)
        if episode is None or episode_id not in context.allowed:
            raise _Fault
        episodes.append(episode)
    return episodes, codes


def _cameras(episode_ids: list[int], cameras: list[str], episodes: list, row: TestSessionRow):
    """Each event's number among the distinct (episode, camera) pairs and each pair's frame count
    (int64); a camera must be one of the session's, else of its episode's."""
    index, codes = _codes(list(zip(episode_ids, cameras, strict=True)))
    by_id = {e.id: e for e in episodes}
    streams = []
    for episode_id, camera in index:
        episode = by_id[episode_id]
        allowed = row.cameras if row.cameras is not None else list(episode.cameras)
        if camera not in allowed:
            raise _Fault
        streams.append(camera_frames(episode, camera))
    return codes, np.asarray(streams, dtype=np.int64)


def _nulls(values: list | None, n: int) -> np.ndarray | None:
    """Where a column holds null (bool, n); None when nowhere (the common case, found without a loop)."""
    if values is None:
        return np.ones(n, dtype=bool)
    if None not in values:
        return None
    return np.fromiter((v is None for v in values), bool, n)


def _frames(columns, n: int, episodes: list, episode_index: np.ndarray, context: BatchContext):
    """Each event's frame (int64, n) and its offset list (ms from the frame's time for an event given
    by time, else None), with _frame_of's checks: a frame inside its episode, else a finite timestamp
    within a second of the episode's times, mapped to the nearest frame by time (ties: the lower
    frame)."""
    given = columns["frame"]
    timed = _nulls(given, n)
    lengths = np.asarray([e.length for e in episodes], dtype=np.int64)[episode_index]
    if timed is None:
        frames = np.asarray(given, dtype=np.int64)
    else:
        frames = np.asarray([0 if f is None else f for f in given or repeat(None, n)], dtype=np.int64)
    inside = (frames >= 0) & (frames < lengths)
    if not np.all(inside if timed is None else inside | timed):  # timed: checked by time below
        raise _Fault
    if timed is None or not timed.any():
        return frames, repeat(None)
    stamps = columns["timestamp"]
    if stamps is None:
        raise _Fault
    seconds = np.asarray(stamps, dtype=np.float64)  # null -> nan, refused below as not finite
    offsets = np.full(n, np.nan)
    for number in np.unique(episode_index[timed]):
        rows = np.flatnonzero(timed & (episode_index == number))
        times = context.times.get(episodes[number].id)
        if times is None:
            raise _Fault
        frames[rows], offsets[rows] = _nearest(times, seconds[rows])
    offset_list = [o if t else None for o, t in zip(offsets.tolist(), timed.tolist(), strict=True)]
    return frames, offset_list


def _nearest(times: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame nearest in time to each of `seconds` (float64, finite, within a second of the times)
    and the offset (ms) from its time, as ingest._frame_of picks it one by one."""
    order = _time_order(times)
    if not len(order) or not np.all(np.isfinite(seconds)):
        raise _Fault
    ordered = times[order]
    if not np.all((ordered[0] - 1.0 <= seconds) & (seconds <= ordered[-1] + 1.0)):
        raise _Fault
    right = np.searchsorted(ordered, seconds)
    last = len(ordered) - 1
    after, before = np.minimum(right, last), np.maximum(right - 1, 0)
    to_after, to_before = np.abs(ordered[after] - seconds), np.abs(ordered[before] - seconds)
    # _frame_of: the nearer of the samples either side, on a tie the lower frame.
    nearer = (to_before < to_after) | ((to_before == to_after) & (order[before] < order[after]))
    take_before = (right > last) | ((right > 0) & nearer)
    frames = order[np.where(take_before, before, after)]
    return frames, (seconds - times[frames]) * 1000.0


def _paths(names: list | None, context: BatchContext) -> Iterable[str]:
    """Each event's signal path (stored text), each distinct name resolved once."""
    default = context.paths[0].path.value
    if names is None:
        return repeat(default)
    resolved: dict[str | None, str] = {None: default}
    for name in set(names) - {None}:
        try:
            resolved[name] = resolve_path(name, context.paths, "signal_path").value
        except BadUserInput:
            raise _Fault from None
    return list(map(resolved.__getitem__, names))


def _labelled(columns, n: int) -> np.ndarray | None:
    """Where events carry a label (bool, n); None when all do. An event without one must have no box
    values and no score."""
    missing = _nulls(columns["label"], n)
    if missing is None:
        return None
    for name in _BOX:
        nulls = _nulls(columns[name], n)
        if nulls is None or not np.all(nulls[missing]):
            raise _Fault
    return ~missing


def _check_boxes(columns, n: int, labelled: np.ndarray | None) -> Iterable:
    """_check_box on every labelled event: finite x, y, width, height and score (null: DEFAULT_SCORE),
    width and height > 0, score in [0, 1]; the score column as stored."""
    keep = slice(None) if labelled is None else labelled
    if labelled is not None and not labelled.any():
        return repeat(DEFAULT_SCORE)
    values = {}
    for name in _BOX[:4]:
        if columns[name] is None:
            raise _Fault
        values[name] = np.asarray(columns[name], dtype=np.float64)[keep]  # null -> nan: refused
        if not np.all(np.isfinite(values[name])):
            raise _Fault
    if not (np.all(values["width"] > 0) and np.all(values["height"] > 0)):
        raise _Fault
    given = columns["score"]
    if given is None:
        return repeat(DEFAULT_SCORE)
    scores = given if None not in given else [DEFAULT_SCORE if s is None else s for s in given]
    score = np.asarray(scores, dtype=np.float64)[keep]
    if not np.all(np.isfinite(score) & (score >= 0.0) & (score <= 1.0)):
        raise _Fault
    return scores


def _latencies(sent: list | None, received: datetime) -> tuple[Iterable, Iterable]:
    """Each event's send time (aware) and latency (ms), computed once per distinct send time."""
    if sent is None:
        return repeat(None), repeat(None)
    # Keyed by identity, not equality: equal instants in other offsets are stored as each was sent
    # (ingest_columns parses each distinct text once, so one text is one object).
    pairs = {id(when): sent_latency(when, received) for when in sent}
    return [pairs[id(when)][0] for when in sent], [pairs[id(when)][1] for when in sent]
