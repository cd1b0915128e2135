"""Analysis jobs: run one kind of analysis over a dataset's episodes, in parts that several
participants (this server, or many `annograph worker` processes) take at once, each in its process
pool; then store everything in one transaction (a cancelled or failed run leaves nothing behind).

Episodes are streamed: at most two per pool process are in flight, each process reads its own file
and returns a small result, so memory does not grow with the episodes' size, only with their count
(a few numbers each, kept in the parts' rows until the final step).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import cast

import numpy as np
from pydantic import BaseModel, JsonValue, TypeAdapter

from domain.accounts.users import Viewer
from domain.analysis.episode_work import analyse_episode, plain
from domain.analysis.kinds import AnalysisKind, validate_parameters
from domain.core.errors import BadUserInput, NotFound
from domain.core.job_parts import run_in_parts
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from persistence.documents import (
    AnalysisParameters,
    AnalysisValues,
    ClusterMember,
    EpisodeMetrics,
    EpisodeQualityValues,
    SuggestionCount,
    TrajectoryValues,
    UnmeasuredEpisode,
)
from persistence.episode_sources import SourceRef
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_analysis as results_repo
from persistence.repositories import suggestion as suggestions_repo
from persistence.tables import DatasetRow, JobRow

log = logging.getLogger(__name__)

# A worker's trajectory metrics of one episode (a plain dict from the process pool), as stored.
_TRAJECTORY: TypeAdapter[EpisodeMetrics | UnmeasuredEpisode] = TypeAdapter(TrajectoryValues)


def analysis_target(dataset_id: int, kind: AnalysisKind) -> str:
    """Job versions count per target: one series per dataset and kind."""
    return f"dataset:{dataset_id}:analysis:{kind.value}"


async def run_analysis(
    rt: Runtime,
    viewer: Viewer,
    dataset_id: int,
    kind: AnalysisKind,
    parameters: object,  # a client's JSON value: an object is expected
    episode_ids: Sequence[int] | None,
) -> JobRow:
    """Check the request now (clear errors before any job exists), then analyse as a job."""
    params = validate_parameters(kind, parameters)
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset(session, dataset_id)
        if dataset is None:
            raise NotFound(f"dataset {dataset_id} does not exist", field="dataset_id")
        if episode_ids is not None and not episode_ids:
            raise BadUserInput("episode_ids: give at least one episode, or leave it out", field="episode_ids")
        episodes = await episodes_repo.list_episode_files(session, dataset.id, episode_ids)
    if episode_ids is not None:
        foreign = sorted(set(episode_ids) - {e[0] for e in episodes})
        if foreign:
            raise BadUserInput(
                f"episode_ids: {foreign} are not episodes of dataset {dataset.id}", field="episode_ids"
            )
    if not episodes:
        raise BadUserInput("the dataset has no episodes to analyse", field="dataset_id")

    # `run_analysis_job` rebuilds the work from the stored parameters, here or in a worker.
    return await rt.jobs.submit(
        kind=JobKind.ANALYSIS,
        target=analysis_target(dataset.id, kind),
        body=registered_body(rt),
        parameters=AnalysisParameters(
            kind=kind.value,
            parameters=params.model_dump(mode="json"),
            episode_ids=list(episode_ids) if episode_ids is not None else None,
            requested_by=viewer.user_id,
        ),
        dataset_id=dataset.id,
    )


@register(JobKind.ANALYSIS, AnalysisParameters)
async def run_analysis_job(rt: Runtime, ctx: JobContext) -> None:
    """An analysis rebuilt from its job's parameters (the dataset and its episodes read again)."""
    stored = ctx.job.parameters.as_kind(AnalysisParameters)
    assert stored is not None and ctx.job.dataset_id is not None  # as run_analysis submitted it
    kind = AnalysisKind(stored.kind)
    params = validate_parameters(kind, stored.parameters)
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset(session, ctx.job.dataset_id)
        if dataset is None:
            raise NotFound(f"dataset {ctx.job.dataset_id} does not exist", field="dataset_id")
        episodes = await episodes_repo.list_episode_files(session, dataset.id, stored.episode_ids)
    await _run(rt, ctx, kind, params, dataset, episodes)


async def _run(
    rt: Runtime, ctx: JobContext, kind: AnalysisKind, params: BaseModel, dataset: DatasetRow, episodes: list
) -> None:
    """Analyse the episodes in parts that any participant takes (domain/core/job_parts.py): each
    episode in this process's pool, two in flight per pool process; the final step stores it all."""
    sources = {e[0]: SourceRef(dataset.format, dataset.path, e[2], e[3]) for e in episodes}
    pool = rt.workers()
    loop = asyncio.get_running_loop()
    plain_params = params.model_dump()

    async def run_item(episode_id: int) -> JsonValue:
        return await loop.run_in_executor(
            pool, analyse_episode, sources[episode_id], kind.value, plain_params, dataset.fps
        )

    async def finish(results: dict[int, JsonValue]) -> None:
        await _store(rt, ctx, kind, params, dataset, episodes, cast(dict[int, dict], results))

    if not ctx.joining:
        await ctx.progress(0.0, f"0/{len(episodes)} episodes")
    await run_in_parts(rt, ctx, list(sources), run_item, finish, lanes=2 * rt.worker_count())


async def _store(
    rt: Runtime,
    ctx: JobContext,
    kind: AnalysisKind,
    params: BaseModel,
    dataset: DatasetRow,
    episodes: list,
    results: dict[int, dict],
) -> None:
    index_of = {e[0]: e[1] for e in episodes}
    summary: dict = {"kind": kind.value, "episodes": len(results)}
    result: dict = {}
    stored: dict[int, AnalysisValues] = {}  # episode id -> what episode_analysis keeps for it
    suggested: dict[int, list[dict]] = {}  # ANOMALY_DETECTION: episode id -> its suggestions
    cluster_of: dict[int, int] = {}  # CLUSTERING: episode id -> its cluster
    if kind is AnalysisKind.TRAJECTORY_METRICS:
        stored = {e: _TRAJECTORY.validate_python(r["metrics"]) for e, r in results.items()}
        measured = {e: m for e, m in stored.items() if isinstance(m, EpisodeMetrics)}
        grades = [m.overall_grade for m in measured.values()]
        metric_flags: dict[str, int] = {}
        for m in measured.values():
            for flag in m.flags:
                metric_flags[flag] = metric_flags.get(flag, 0) + 1
        summary |= {
            # The mean overall grade, 1-5, under the key summaries were stored with (README: Deprecated
            # names; a summary is shown as stored, so a new key would not reach older jobs).
            "meanScore": sum(grades) / len(grades) if grades else None,
            "unmeasured": len(stored) - len(measured),
            "unmeasuredEpisodes": sorted(index_of[e] for e in stored if e not in measured),
            # The guide's metric flags, by flag: reported, but they do not flag an episode
            # ("flagged" below is the episode filter's definition, see refresh_review_order).
            "metricFlags": metric_flags,
        }
    elif kind is AnalysisKind.ANOMALY_DETECTION:
        found = {e: r["suggestions"] for e, r in results.items()}
        stored = {e: SuggestionCount(suggestions=len(s)) for e, s in found.items()}
        counts: dict[str, int] = {}
        for items in found.values():
            for s in items:
                counts[s["type"]] = counts.get(s["type"], 0) + 1
        summary |= {
            "suggestions": sum(counts.values()),
            "byType": counts,
            "episodesWithSuggestions": sorted(index_of[e] for e, s in found.items() if s),
        }
        suggested = found
    elif kind is AnalysisKind.QUALITY_REPORT:
        from domain.analysis.quality_checks import EpisodeQuality, QualityParams, summarise

        assert isinstance(params, QualityParams)  # parameter_model(kind)

        stored = {e: EpisodeQualityValues.model_validate(r["quality"]) for e, r in results.items()}
        ordered = sorted(results, key=lambda e: index_of[e])
        report = summarise(
            [(index_of[e], EpisodeQuality(**results[e]["quality"]), results[e]["length"]) for e in ordered],
            params,
        )
        result = {"report": plain(asdict(report))}
        summary |= {"counts": report.counts, "affected": report.affected}
    else:
        from domain.analysis.clustering import FEATURES, ClusteringParams, cluster

        assert isinstance(params, ClusteringParams)  # parameter_model(kind)
        # Episodes too short to measure have no features: they belong to no cluster.
        unmeasured = sorted(index_of[e] for e, r in results.items() if r["features"] is None)
        ordered = sorted(
            (e for e, r in results.items() if r["features"] is not None), key=lambda e: index_of[e]
        )
        features = [results[e]["features"] for e in ordered]
        matrix = np.asarray(features, dtype=np.float64).reshape(len(features), len(FEATURES))
        clustering = await asyncio.get_running_loop().run_in_executor(rt.workers(), cluster, matrix, params)
        labels = [int(v) for v in clustering.labels]
        outliers = {ordered[i] for i in clustering.outliers}
        stored = {
            e: ClusterMember(cluster=labels[i], outlier=e in outliers, features=features[i])
            for i, e in enumerate(ordered)
        }
        result = {
            "k": int(clustering.k),
            "silhouette": None if clustering.silhouette is None else float(clustering.silhouette),
            "clusters": [
                {"index": c, "episodeIndices": [index_of[e] for i, e in enumerate(ordered) if labels[i] == c]}
                for c in sorted(set(labels))
            ],
            "outliers": sorted(index_of[e] for e in outliers),
            "unmeasured": unmeasured,
        }
        summary |= {
            "k": result["k"],
            "silhouette": result["silhouette"],
            "outliers": result["outliers"],
            "unmeasured": unmeasured,
        }
        cluster_of = {e: labels[i] for i, e in enumerate(ordered)}
    async with rt.sessions() as session, session.begin():
        await results_repo.insert_results(session, ctx.job.id, kind.value, stored)
        if kind is AnalysisKind.TRAJECTORY_METRICS:
            # An unmeasured episode has no grade (null), so every review order puts it last.
            await results_repo.set_grades(
                session,
                {
                    e: (m.overall_grade, list(m.flags)) if isinstance(m, EpisodeMetrics) else (None, [])
                    for e, m in stored.items()
                },
            )
        elif kind is AnalysisKind.ANOMALY_DETECTION:
            await suggestions_repo.replace_unverified(session, ctx.job.id, kind.value, suggested)
        elif kind is AnalysisKind.CLUSTERING:
            await results_repo.set_clusters(session, dataset.id, cluster_of)
        flagged = await results_repo.refresh_review_order(session, list(results))
        if kind is AnalysisKind.TRAJECTORY_METRICS:
            # One definition of "flagged", the episode filter's: holding unverified suggestions.
            summary |= {"flagged": len(flagged), "flaggedEpisodes": sorted(index_of[e] for e in flagged)}
        await ctx.finish(
            session,
            summary=summary,
            result=result or None,
            dataset_id=dataset.id,
            message=f"{len(results)}/{len(episodes)} episodes",
        )
