"""Anomalies suggested by analysis jobs: anomaly rows of an episode without an annotation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import AnomalyRow


def same_finding(episode_id: int, suggestion: dict) -> tuple:
    """What makes two suggestions the same finding: the episode, the anomaly type and the frame range.
    Severity and description follow from the run's parameters, so a re-run with other thresholds that
    finds the same range again has found the same thing."""
    return episode_id, suggestion["type"], suggestion["from_frame"], suggestion["to_frame"]


async def replace_unverified(
    session: AsyncSession, job_id: int, kind: str, suggestions: dict[int, list[dict]]
) -> None:
    """Drop the episodes' unverified suggestions of `kind` and insert the new ones; verified ones stay,
    and a new one that is the same finding as one that stays (`same_finding`), or as one inserted
    before it, is not inserted: a re-run never shows a reviewer again what they already verified."""
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
    kept = await session.execute(
        select(AnomalyRow.episode_id, AnomalyRow.type, AnomalyRow.from_frame, AnomalyRow.to_frame).where(
            AnomalyRow.episode_id.in_(episode_ids),
            AnomalyRow.annotation_id.is_(None),
            AnomalyRow.analysis_kind == kind,
        )
    )
    seen = {tuple(row) for row in kept.all()}
    rows = []
    for e, items in suggestions.items():
        for i, s in enumerate(items):
            if same_finding(e, s) in seen:
                continue
            seen.add(same_finding(e, s))
            rows.append(
                dict(
                    s,
                    episode_id=e,
                    job_id=job_id,
                    analysis_kind=kind,
                    position=i,
                    auto_detected=True,
                    verified=False,
                )
            )
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
