"""Detections streamed by a device under test into an EXTERNAL test session.

A batch is checked whole before anything is written (an error names `events[i].field` and writes
nothing). Each event names its frame, or the episode time it saw, which is mapped to the nearest
frame by the episode's timestamps. Latency is receive time minus the device's send time. Each event
travels a signal path (signal_paths.py): the one it names, which must be one of the session's, else the
session's default. An event
without a label marks a frame the device processed and found nothing on.

A detection without a score is stored with score 1.0: a device that gives no scores states each
detection without doubt, and Datumaro (CVAT's dataset library) reads an annotation without a score
the same way (`attributes.get('score', 1)`). AP then ranks such detections as ties, in COCO's order
(frame, then arrival); for a device that gives no scores at all precision, recall and F1 are the
figures that mean something, AP has a single operating point.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput, Conflict
from domain.core.runtime import Runtime
from domain.validation.evaluation import update_frame_counts
from domain.validation.events import publish
from domain.validation.signal_paths import PathTolerance, resolve_path, session_paths
from domain.validation.states import TestSource, TestStatus
from domain.validation.test_sessions import read_test_session_in
from persistence.columns import utcnow
from persistence.episode_sources import SourceRef, episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.tables import EpisodeRow, TestSessionRow

MAX_EVENTS = 10_000
# Episode timestamps by (episode id, file mtime): devices stream many batches per episode.
_TIMES: LRUCache = LRUCache(maxsize=256)
_ORDERS: LRUCache = LRUCache(maxsize=256)  # id(times) -> (times, its order by time)


@dataclass(frozen=True)
class DetectionEventInput:
    episode_id: int
    camera: str
    frame: int | None = None
    timestamp: float | None = None  # episode time in seconds, as the device saw it
    label: str | None = None
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    score: float | None = None  # 0..1; None: DEFAULT_SCORE
    sent_at: datetime | None = None
    signal_path: str | None = None  # how the device reported it; None: the session's default path


DEFAULT_SCORE = 1.0  # a detection sent without a score (see the module docstring)


async def ingest_detection_events(
    rt: Runtime, viewer: Viewer, session_id: int, events: Sequence[DetectionEventInput], *, copy: bool = False
) -> int:
    """Store a batch of a device's detections; the number of detections stored.

    The session (locked: batches and a stop wait for one another), its episodes, the checks and the
    writes are one transaction. NOT_FOUND (session_id); BAD_USER_INPUT for a MODEL session, an empty or
    too large batch, or an event naming its field (events[i].<field>), and nothing is written; CONFLICT
    when the session is not RUNNING. `copy`: write with COPY on PostgreSQL (ingest_columns.py's bulk
    path; the same rows)."""

    async def check(session: AsyncSession, row: TestSessionRow, received: datetime) -> CheckedBatch:
        return await _checked_events(rt, session, row, events, received)

    return await ingest_batch(rt, session_id, check, copy=copy)


# The detection rows to write (dicts, or columns and tuples for COPY) and the (episode id, camera,
# frame) keys the batch processed.
CheckedBatch = tuple[list[dict] | events_repo.EventRecords, set[tuple[int, str, int]]]


async def ingest_batch(
    rt: Runtime,
    session_id: int,
    check: Callable[[AsyncSession, TestSessionRow, datetime], Awaitable[CheckedBatch]],
    *,
    copy: bool = False,
) -> int:
    """ingest_detection_events' transaction around `check` (the locked session row and the receive time
    -> the rows to write and the frames processed): lock, check, write, recount the frames, publish; the
    number of rows written. ingest_columns.py checks its columns through it."""
    received = utcnow()
    async with rt.sessions() as session, session.begin():
        row = await read_test_session_in(session, session_id, "session_id", lock=True)
        values, frames = await check(session, row, received)
        keys = sorted(frames)
        # The detections already on the batch's frames, read before its own go in: reading those back
        # cost as much as writing them.
        stored = await events_repo.read_events_on_frames(session, row.id, keys)
        if copy:
            await events_repo.copy_events(session, values)
        else:
            assert isinstance(values, list)
            await events_repo.insert_events(session, values)
        await update_frame_counts(session, row, keys, events=stored + events_repo.unstored_boxes(values))
    await publish(rt, row.id, row.status)
    return len(values)


@dataclass(frozen=True)
class BatchContext:
    """What a batch is checked against: the session's episode ids, signal paths (default first) and
    episodes by id, and the frame times (s, by frame) of the episodes some event names by time."""

    allowed: set[int]
    paths: list[PathTolerance]
    episodes: dict[int, EpisodeRow]
    times: dict[int, np.ndarray]


def check_batch(row: TestSessionRow, count: int) -> None:
    """The checks of a batch of `count` events before its events': BAD_USER_INPUT (session_id, events),
    CONFLICT (session_id)."""
    session_id = row.id
    if row.source != TestSource.EXTERNAL:
        raise BadUserInput("session_id: a MODEL session makes its own detections", field="session_id")
    if row.status != TestStatus.RUNNING:
        raise Conflict(
            f"session_id: test session {session_id} is {row.status}, not RUNNING", field="session_id"
        )
    if not count:
        raise BadUserInput("events: the batch is empty", field="events")
    if count > MAX_EVENTS:
        raise BadUserInput(f"events: at most {MAX_EVENTS} per batch, got {count}", field="events")


async def batch_context(
    rt: Runtime, session: AsyncSession, row: TestSessionRow, timed: set[int]
) -> BatchContext:
    """The session's episodes and paths, and the frame times of the `timed` episode ids (each one of
    the session's)."""
    allowed = set(row.episode_ids)
    paths = session_paths(row)
    episodes = {e.id: e for e in await episodes_repo.read_episodes_by_ids(session, list(allowed))}
    datasets = {
        d.id: d
        for d in await datasets_repo.read_datasets_by_ids(
            session, list({e.dataset_id for e in episodes.values()})
        )
    }
    times = {}
    for episode_id in timed:
        timed_episode = episodes[episode_id]
        ref = episode_ref(datasets[timed_episode.dataset_id], timed_episode)
        times[episode_id] = await _frame_times(rt, ref, timed_episode)
    return BatchContext(allowed, paths, episodes, times)


async def _checked_events(
    rt: Runtime, session: AsyncSession, row: TestSessionRow, events: Sequence[DetectionEventInput], received
) -> tuple[list[dict], set[tuple[int, str, int]]]:
    """The batch checked against the session and its episodes: the detection rows to insert and the
    (episode id, camera, frame) keys the batch processed."""
    check_batch(row, len(events))
    allowed = set(row.episode_ids)
    timed = {
        e.episode_id
        for e in events
        if e.frame is None and e.timestamp is not None and e.episode_id in allowed
    }
    context = await batch_context(rt, session, row, timed)
    return check_events(row, context, events, received)


def check_events(
    row: TestSessionRow, context: BatchContext, events: Sequence[DetectionEventInput], received: datetime
) -> tuple[list[dict], set[tuple[int, str, int]]]:
    """Each event checked in turn (BAD_USER_INPUT naming the first fault, `events[i].<field>`): the
    detection rows to insert and the (episode id, camera, frame) keys the batch processed."""
    allowed, paths, episodes, times = context.allowed, context.paths, context.episodes, context.times
    values: list[dict] = []
    frames: set[tuple[int, str, int]] = set()
    for i, event in enumerate(events):
        where = f"events[{i}]"
        episode = episodes.get(event.episode_id)
        if episode is None or event.episode_id not in allowed:
            raise BadUserInput(
                f"{where}.episode_id: not an episode of this session", field=f"{where}.episode_id"
            )
        cameras = row.cameras if row.cameras is not None else list(episode.cameras)
        if event.camera not in cameras:
            raise BadUserInput(
                f"{where}.camera: {event.camera!r} is not one of {cameras}", field=f"{where}.camera"
            )
        frame, offset_ms = _frame_of(event, episode.length, times.get(event.episode_id), where)
        # A camera may hold fewer frames than the episode (a recording that dropped some at the end).
        stream = camera_frames(episode, event.camera)
        if frame >= stream:
            field = f"{where}.frame" if event.frame is not None else f"{where}.timestamp"
            raise BadUserInput(
                f"{field}: frame {frame} is beyond camera {event.camera!r}, which has {stream} frames",
                field=field,
            )
        path = resolve_path(event.signal_path, paths, f"{where}.signal_path")
        frames.add((episode.id, event.camera, frame))
        if event.label is None:
            if any(v is not None for v in (event.x, event.y, event.width, event.height, event.score)):
                raise BadUserInput(f"{where}.label: a box needs a label", field=f"{where}.label")
            continue
        box = _check_box(event, where)
        sent_at, latency = sent_latency(event.sent_at, received)
        values.append(
            {
                "session_id": row.id,
                "episode_id": episode.id,
                "camera": event.camera,
                "frame": frame,
                "label": event.label,
                **box,
                "device_timestamp": event.timestamp,
                "temporal_offset_ms": offset_ms,
                "sent_at": sent_at,
                "received_at": received,
                "latency_ms": latency,
                "signal_path": path.value,
            }
        )
    return values, frames


def camera_frames(episode, camera: str) -> int:
    """How many frames the episode's `camera` holds (its stream's length, else the episode's)."""
    return (episode.cameras.get(camera) or [episode.length])[0]


def sent_latency(sent_at: datetime | None, received: datetime) -> tuple[datetime | None, float | None]:
    """The device's send time (aware) and the latency (ms) from it to `received`; (None, None) without."""
    if sent_at is None:
        return None, None
    if sent_at.tzinfo is None:  # a device clock without an offset is taken as UTC
        sent_at = sent_at.replace(tzinfo=UTC)
    return sent_at, (received - sent_at).total_seconds() * 1000.0


def _check_box(event: DetectionEventInput, where: str) -> dict:
    score = DEFAULT_SCORE if event.score is None else event.score
    given = {"x": event.x, "y": event.y, "width": event.width, "height": event.height, "score": score}
    box: dict[str, float] = {}
    for name, value in given.items():
        if value is None or not math.isfinite(value):
            raise BadUserInput(f"{where}.{name}: a finite number is needed", field=f"{where}.{name}")
        box[name] = value
    if box["width"] <= 0 or box["height"] <= 0:
        raise BadUserInput(f"{where}.width: the box has no area", field=f"{where}.width")
    if not (0.0 <= score <= 1.0):
        raise BadUserInput(f"{where}.score must be in [0, 1], got {score}", field=f"{where}.score")
    return box


def _frame_of(event: DetectionEventInput, length: int, times: np.ndarray | None, where: str):
    """The frame and, for a device time, how far (ms) the device's time lies from that frame's."""
    if event.frame is not None:
        if not (0 <= event.frame < length):
            raise BadUserInput(
                f"{where}.frame {event.frame} is outside the episode (0..{length - 1})",
                field=f"{where}.frame",
            )
        return event.frame, None
    if event.timestamp is None or times is None or not math.isfinite(event.timestamp):
        raise BadUserInput(f"{where}.frame: give a frame or a timestamp", field=f"{where}.frame")
    # The nearest sample in time, whatever the order of the samples (a late sample makes them
    # non-monotonic) and skipping those without a time: searched in the samples sorted by time.
    order = _time_order(times)
    if not len(order):
        raise BadUserInput(f"{where}.frame: the episode has no timestamps", field=f"{where}.frame")
    ordered = times[order]
    if not (ordered[0] - 1.0 <= event.timestamp <= ordered[-1] + 1.0):
        raise BadUserInput(
            f"{where}.timestamp {event.timestamp} s is outside the episode "
            f"({ordered[0]:.3f}..{ordered[-1]:.3f} s)",
            field=f"{where}.timestamp",
        )
    right = int(np.searchsorted(ordered, event.timestamp))
    candidates = [i for i in (right - 1, right) if 0 <= i < len(ordered)]
    nearest = min(candidates, key=lambda i: (abs(ordered[i] - event.timestamp), int(order[i])))
    frame = int(order[nearest])
    return frame, (event.timestamp - float(times[frame])) * 1000.0


def _time_order(times: np.ndarray) -> np.ndarray:
    """Frame indexes of the finite times, by time (stable: ties keep frame order); cached per array."""
    key = id(times)
    cached = _ORDERS.get(key)
    if cached is not None and cached[0] is times:
        return cached[1]
    order = np.argsort(times, kind="stable")
    order = order[np.isfinite(times[order])]
    _ORDERS[key] = (times, order)
    return order


async def _frame_times(rt: Runtime, ref: SourceRef, episode) -> np.ndarray:
    key = (episode.id, episode.file_mtime)
    times = _TIMES.get(key)
    if times is None:
        arrays = await asyncio.to_thread(rt.files.read_arrays, ref, ["timestamp"], slice(None))
        if "timestamp" in arrays:
            times = np.asarray(arrays["timestamp"], dtype=np.float64)
        else:  # no timestamps in the file: frames are evenly spaced at the episode's rate
            times = np.arange(episode.length) / (
                episode.length / episode.duration if episode.duration else 30.0
            )
        _TIMES[key] = times
    return times
