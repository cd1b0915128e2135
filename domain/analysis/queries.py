"""Reading analysis results back for the graph: run histories, latest metrics, suggestions."""

from __future__ import annotations

from collections.abc import Sequence

from domain.analysis.kinds import AnalysisKind
from domain.analysis.runs import analysis_target
from domain.core.job_runner import JobKind
from domain.core.runtime import Runtime
from persistence.documents import EpisodeMetrics
from persistence.repositories import episode_analysis as results_repo
from persistence.repositories import job as jobs_repo
from persistence.repositories import suggestion as suggestions_repo
from persistence.tables import AnomalyRow, JobRow


async def analysis_runs(rt: Runtime, keys: Sequence[tuple[int, AnalysisKind]]) -> list[list[JobRow]]:
    targets = [analysis_target(d, k) for d, k in keys]
    async with rt.sessions() as session:
        rows = await jobs_repo.list_jobs_by_targets(session, JobKind.ANALYSIS.value, sorted(set(targets)))
    grouped: dict[str, list[JobRow]] = {t: [] for t in targets}
    for row in rows:
        grouped[row.target].append(row)
    return [grouped[t] for t in targets]


async def metrics_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[EpisodeMetrics | None]:
    """Each episode's trajectory metrics from the newest run that covered it; None before one, and for an
    episode that run found too short to measure."""
    async with rt.sessions() as session:
        found = await results_repo.latest_results(session, episode_ids, AnalysisKind.TRAJECTORY_METRICS.value)
    return [found[e].as_kind(EpisodeMetrics) if e in found else None for e in episode_ids]


async def suggestions_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[list[AnomalyRow]]:
    async with rt.sessions() as session:
        rows = await suggestions_repo.read_by_episodes(session, episode_ids)
    grouped: dict[int, list[AnomalyRow]] = {e: [] for e in episode_ids}
    for row in rows:
        grouped[row.episode_id].append(row)
    return [grouped[e] for e in episode_ids]
