"""Per-episode results of analysis runs, and the review-order columns they keep on the episode."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.documents import AnalysisValues
from persistence.tables import AnomalyRow, EpisodeAnalysisRow, EpisodeRow, JobRow

# Core table for executemany updates keyed by id (the ORM form refuses to synchronise them).
_EPISODE = EpisodeRow.__table__


async def insert_results(
    session: AsyncSession, job_id: int, kind: str, values: dict[int, AnalysisValues]
) -> None:
    """Each episode's values (episode id -> the kind's model) of the run `job_id`."""
    if values:
        await session.execute(
            insert(EpisodeAnalysisRow),
            [dict(job_id=job_id, episode_id=e, kind=kind, values=v) for e, v in values.items()],
        )


async def latest_results(
    session: AsyncSession, episode_ids: Sequence[int], kind: str
) -> dict[int, AnalysisValues]:
    """Each episode's result of the newest completed run of `kind` that covered it (read it with
    `as_kind`)."""
    newest = (
        select(EpisodeAnalysisRow.episode_id, func.max(EpisodeAnalysisRow.job_id).label("job_id"))
        .join(JobRow, JobRow.id == EpisodeAnalysisRow.job_id)
        .where(
            EpisodeAnalysisRow.episode_id.in_(episode_ids),
            EpisodeAnalysisRow.kind == kind,
            JobRow.status == "COMPLETED",
        )
        .group_by(EpisodeAnalysisRow.episode_id)
        .subquery()
    )
    query = select(EpisodeAnalysisRow.episode_id, EpisodeAnalysisRow.values).join(
        newest,
        (newest.c.episode_id == EpisodeAnalysisRow.episode_id)
        & (newest.c.job_id == EpisodeAnalysisRow.job_id),
    )
    return {e: v for e, v in (await session.execute(query)).all()}


async def set_grades(session: AsyncSession, grades: dict[int, tuple[int | None, list[str]]]) -> None:
    """episode id -> (overall grade 1-5, metric flags); a None grade: too short to measure."""
    if grades:
        await session.execute(
            update(_EPISODE)
            .where(_EPISODE.c.id == bindparam("b_id"))
            .values(overall_grade=bindparam("b_grade"), metric_flags=bindparam("b_flags")),
            [{"b_id": e, "b_grade": g, "b_flags": f} for e, (g, f) in grades.items()],
        )


async def set_clusters(session: AsyncSession, dataset_id: int, clusters: dict[int, int]) -> None:
    await session.execute(update(EpisodeRow).where(EpisodeRow.dataset_id == dataset_id).values(cluster=None))
    if clusters:
        await session.execute(
            update(_EPISODE).where(_EPISODE.c.id == bindparam("b_id")).values(cluster=bindparam("b_cluster")),
            [{"b_id": e, "b_cluster": c} for e, c in clusters.items()],
        )


async def refresh_review_order(session: AsyncSession, episode_ids: Sequence[int]) -> list[int]:
    """Recount open suggestions; `flagged` is having any, the one definition the episode filter and
    the analysis summaries use. (The guide's metric flags are kept beside the score but do not flag:
    with its fixed thresholds they fire on every natural pick-and-place.) Returns the flagged ids."""
    if not episode_ids:
        return []
    open_counts = dict(
        (
            await session.execute(
                select(AnomalyRow.episode_id, func.count())
                .where(
                    AnomalyRow.episode_id.in_(episode_ids),
                    AnomalyRow.annotation_id.is_(None),
                    AnomalyRow.verified.is_(False),
                )
                .group_by(AnomalyRow.episode_id)
            )
        ).all()
    )
    await session.execute(
        update(_EPISODE)
        .where(_EPISODE.c.id == bindparam("b_id"))
        .values(open_suggestions=bindparam("b_open"), flagged=bindparam("b_flagged")),
        [
            {"b_id": e, "b_open": open_counts.get(e, 0), "b_flagged": open_counts.get(e, 0) > 0}
            for e in episode_ids
        ],
    )
    return sorted(e for e in episode_ids if open_counts.get(e, 0) > 0)
