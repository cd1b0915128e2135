"""Anomalies suggested by analysis jobs: anomaly rows of an episode without an annotation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import AnomalyRow


async def replace_unverified(
    session: AsyncSession, job_id: int, kind: str, suggestions: dict[int, list[dict]]
) -> None:
    """Drop the episodes' unverified suggestions of `kind` and insert the new ones; verified ones stay."""
    episode_ids = list(suggestions)
    if not episode_ids:
        return
    await session.execute(
        delete(AnomalyRow).where(
            AnomalyRow.episode_id.in_(episode_ids),
            AnomalyRow.annotation_id.is_(None),
            AnomalyRow.analysis_kind == kind,
            AnomalyRow.verified.is_(False),
        )
    )
    rows = [
        dict(
            s, episode_id=e, job_id=job_id, analysis_kind=kind, position=i, auto_detected=True, verified=False
        )
        for e, items in suggestions.items()
        for i, s in enumerate(items)
    ]
    if rows:
        await session.execute(insert(AnomalyRow), rows)


async def read_by_episodes(session: AsyncSession, episode_ids: Sequence[int]) -> list[AnomalyRow]:
    query = (
        select(AnomalyRow)
        .where(AnomalyRow.episode_id.in_(episode_ids), AnomalyRow.annotation_id.is_(None))
        .order_by(AnomalyRow.episode_id, AnomalyRow.from_frame, AnomalyRow.id)
    )
    return list((await session.execute(query)).scalars())


async def read_suggestion(session: AsyncSession, anomaly_id: int) -> AnomalyRow | None:
    row = await session.get(AnomalyRow, anomaly_id)
    return row if row is not None and row.annotation_id is None else None


async def set_verified(session: AsyncSession, anomaly_id: int) -> None:
    await session.execute(update(AnomalyRow).where(AnomalyRow.id == anomaly_id).values(verified=True))


async def delete_suggestion(session: AsyncSession, anomaly_id: int) -> None:
    await session.execute(delete(AnomalyRow).where(AnomalyRow.id == anomaly_id))
