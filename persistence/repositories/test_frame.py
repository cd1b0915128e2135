"""The frames a test session processed, with running match counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import utcnow
from persistence.tables import TestFrameRow

Row = TestFrameRow


async def record_frames(session: AsyncSession, session_id: int, values: Sequence[dict]) -> None:
    """Insert or replace the frames' counts (a frame seen again gets the counts of everything so far).
    An upsert, so two batches on one frame at once cannot collide on its key."""
    if not values:
        return
    now = utcnow()
    rows = [{"session_id": session_id, "processed_at": now, "latency_ms": None, **v} for v in values]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Row.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["session_id", "episode_id", "camera", "frame"],
        set_={name: statement.excluded[name] for name in ("tp", "fp", "fn", "latency_ms", "processed_at")},
    )
    for start in range(0, len(rows), 1000):
        await session.execute(statement, rows[start : start + 1000])


class FrameTotals(NamedTuple):
    """A session's processed frames and their summed running counts (first/last None before any)."""

    processed: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


async def totals(session: AsyncSession, session_ids: Sequence[int]) -> dict[int, FrameTotals]:
    """Per session that processed a frame: its totals (sessions without any are absent)."""
    query = (
        select(
            Row.session_id,
            func.count().label("processed"),
            func.coalesce(func.sum(Row.tp), 0).label("tp"),
            func.coalesce(func.sum(Row.fp), 0).label("fp"),
            func.coalesce(func.sum(Row.fn), 0).label("fn"),
            func.min(Row.processed_at).label("first_at"),
            func.max(Row.processed_at).label("last_at"),
        )
        .where(Row.session_id.in_(session_ids))
        .group_by(Row.session_id)
    )
    return {
        r.session_id: FrameTotals(
            processed=r.processed, tp=r.tp, fp=r.fp, fn=r.fn, first_at=r.first_at, last_at=r.last_at
        )
        for r in (await session.execute(query)).all()
    }


async def processed_frames(session: AsyncSession, session_id: int) -> list[tuple[int, str, int]]:
    query = (
        select(Row.episode_id, Row.camera, Row.frame)
        .where(Row.session_id == session_id)
        .order_by(Row.episode_id, Row.camera, Row.frame)
    )
    return [(episode, camera, frame) for episode, camera, frame in (await session.execute(query)).all()]


async def frame_latencies(session: AsyncSession, session_id: int) -> list[float | None]:
    query = select(Row.latency_ms).where(Row.session_id == session_id)
    return list((await session.execute(query)).scalars())


class FrameLatency(NamedTuple):
    """A processed frame's key and the detector's time on it (ms; None when not measured)."""

    episode_id: int
    camera: str
    frame: int
    latency_ms: float | None


async def frame_latencies_by_key(session: AsyncSession, session_id: int) -> list[FrameLatency]:
    """Every processed frame of the session with its latency (MODEL sessions measure one per frame)."""
    query = select(Row.episode_id, Row.camera, Row.frame, Row.latency_ms).where(Row.session_id == session_id)
    return [FrameLatency._make(r) for r in (await session.execute(query)).all()]
