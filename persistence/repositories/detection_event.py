"""Detections a test session received or produced."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.key_sets import rows_with_keys
from persistence.tables import DetectionEventRow

Row = DetectionEventRow


class EventBox(NamedTuple):
    """One detection as evaluation reads it (plain values, not an ORM object: sessions hold 100,000s)."""

    id: int
    episode_id: int
    camera: str
    frame: int
    label: str
    x: float
    y: float
    width: float
    height: float
    score: float
    latency_ms: float | None
    temporal_offset_ms: float | None


# The columns named as EventBox's fields, so each row is built by name.
COLUMNS = tuple(getattr(Row, name) for name in EventBox._fields)


async def insert_events(session: AsyncSession, values: Sequence[dict]) -> None:
    if values:
        await session.execute(insert(Row.__table__), list(values))


# The columns a stored detection states, in the order of COPY records (EventRecords) and of the dict
# domain/validation/ingest.py check_events builds (the id is the database's).
EVENT_COLUMNS = (
    "session_id",
    "episode_id",
    "camera",
    "frame",
    "label",
    "x",
    "y",
    "width",
    "height",
    "score",
    "device_timestamp",
    "temporal_offset_ms",
    "sent_at",
    "received_at",
    "latency_ms",
    "signal_path",
)


@dataclass(frozen=True)
class EventRecords:
    """Detection rows as COPY takes them: the column names and one tuple of values per row, in that
    order (timestamps aware)."""

    columns: tuple[str, ...]
    records: list[tuple]

    def __len__(self) -> int:
        return len(self.records)


def unstored_boxes(values: Sequence[dict] | EventRecords) -> list[EventBox]:
    """Detection rows about to be stored (as copy_events takes them), as evaluation reads them; their id
    is 0, as the database has given none yet (the running counts do not use it)."""
    fields = EventBox._fields[1:]
    if isinstance(values, EventRecords):
        at = [values.columns.index(name) for name in fields]
        return [EventBox(0, *(record[i] for i in at)) for record in values.records]
    return [EventBox(0, *(value[name] for name in fields)) for value in values]


async def copy_events(session: AsyncSession, values: Sequence[dict] | EventRecords) -> None:
    """Insert detection rows (dicts of column -> value, all with the same keys, timestamps aware; or
    EventRecords) in the session's transaction: on PostgreSQL with COPY (asyncpg's
    copy_records_to_table on the session's own connection: ids follow the rows' order, as with
    INSERT), elsewhere as insert_events. The rows stored are the same either way."""
    if not values:
        return
    connection = await session.connection()
    if connection.dialect.driver != "asyncpg":
        if isinstance(values, EventRecords):
            values = [dict(zip(values.columns, r, strict=True)) for r in values.records]
        await insert_events(session, values)
        return
    if isinstance(values, EventRecords):
        columns, records = list(values.columns), values.records
    else:
        columns = list(values[0])
        records = [tuple(v[c] for c in columns) for v in values]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        Row.__tablename__, records=records, columns=columns
    )


async def read_events(session: AsyncSession, session_id: int) -> list[EventBox]:
    """All of a session's detections, in the order they were received."""
    query = select(*COLUMNS).where(Row.session_id == session_id).order_by(Row.id)
    return [EventBox._make(r) for r in (await session.execute(query)).all()]


async def read_events_on_frames(
    session: AsyncSession, session_id: int, keys: Sequence[tuple[int, str, int]]
) -> list[EventBox]:
    """The session's detections on the (episode id, camera, frame) `keys`."""
    query = select(*COLUMNS).where(Row.session_id == session_id)
    rows = await rows_with_keys(session, query, (Row.episode_id, Row.camera, Row.frame), keys)
    return [EventBox._make(r) for r in rows]


class PathLatencyRow(NamedTuple):
    """A detection's signal path and latency (ms; None when the device sent no time)."""

    signal_path: str
    latency_ms: float | None


async def path_latencies(session: AsyncSession, session_id: int) -> list[PathLatencyRow]:
    """Every detection of the session as (signal path, latency), for the latency by path."""
    query = select(Row.signal_path, Row.latency_ms).where(Row.session_id == session_id)
    return [PathLatencyRow._make(r) for r in (await session.execute(query)).all()]
