"""Detections a test session received or produced."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import DetectionEventRow

Row = DetectionEventRow
COLUMNS = (
    Row.id,
    Row.episode_id,
    Row.camera,
    Row.frame,
    Row.label,
    Row.x,
    Row.y,
    Row.width,
    Row.height,
    Row.score,
    Row.latency_ms,
    Row.temporal_offset_ms,
)


async def insert_events(session: AsyncSession, values: Sequence[dict]) -> None:
    if values:
        await session.execute(insert(Row.__table__), list(values))


async def read_events(session: AsyncSession, session_id: int) -> list[tuple]:
    """All of a session's detections as plain tuples (COLUMNS order), by frame."""
    query = select(*COLUMNS).where(Row.session_id == session_id).order_by(Row.id)
    return [tuple(r) for r in (await session.execute(query)).all()]


async def read_events_on_frames(
    session: AsyncSession, session_id: int, keys: Sequence[tuple[int, str, int]]
) -> list[tuple]:
    out: list[tuple] = []
    for start in range(0, len(keys), 500):
        query = select(*COLUMNS).where(
            Row.session_id == session_id,
            tuple_(Row.episode_id, Row.camera, Row.frame).in_(keys[start : start + 500]),
        )
        out += [tuple(r) for r in (await session.execute(query)).all()]
    return out
