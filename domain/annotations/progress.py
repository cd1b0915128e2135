"""Derived, never stored: each episode's consensus and a dataset's annotation progress."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from domain.annotations.agreement import DatasetAgreement, dataset_agreement
from domain.annotations.consensus import AnomalyMark, Consensus, Judgement, consensus
from domain.core.runtime import Runtime
from domain.segments.consensus import SegmentAgreement, segment_agreement
from domain.segments.service import marks_by_episodes as segment_marks
from persistence.repositories import episode_annotation as repo
from persistence.tables import AnomalyRow, EpisodeAnnotationRow

# The quality grades (1-5) of an annotation row, by column name.
GRADE_COLUMNS = ("smoothness", "efficiency", "safety", "precision", "video_quality")


def judgement(row: EpisodeAnnotationRow, anomalies: Sequence[AnomalyRow] = ()) -> Judgement:
    return Judgement(
        annotator_id=row.annotator_id,
        rating=row.rating,
        grades={name: getattr(row, name) for name in GRADE_COLUMNS},
        anomalies=tuple(
            AnomalyMark(
                annotator_id=row.annotator_id,
                type=a.type,
                severity=a.severity,
                from_frame=a.from_frame,
                to_frame=a.to_frame,
                from_time=a.from_time,
                to_time=a.to_time,
            )
            for a in anomalies
        ),
    )


async def consensus_by_episodes(rt: Runtime, episode_ids: Sequence[int]) -> list[Consensus | None]:
    """The consensus of each episode (None without annotations), in two statements for all."""
    async with rt.sessions() as session:
        rows = await repo.read_annotations_by_episodes(session, episode_ids)
        anomalies = await repo.read_anomalies(session, [r.id for r in rows]) if rows else []
    by_annotation: dict[int | None, list[AnomalyRow]] = {}
    for anomaly in anomalies:
        by_annotation.setdefault(anomaly.annotation_id, []).append(anomaly)
    by_episode: dict[int, list[Judgement]] = {}
    for row in rows:
        by_episode.setdefault(row.episode_id, []).append(judgement(row, by_annotation.get(row.id, ())))
    return [consensus(by_episode[e]) if e in by_episode else None for e in episode_ids]


@dataclass(frozen=True)
class AnnotationProgress:
    episodes: int
    unannotated: int
    single: int
    multiple: int
    agreement: DatasetAgreement
    segments: SegmentAgreement  # time segments matched across annotators at IoU >= 0.5


async def annotation_progress(rt: Runtime, dataset_id: int) -> AnnotationProgress:
    async with rt.sessions() as session:
        counts = await repo.annotator_counts(session, dataset_id)
        rows = await repo.read_dataset_annotations(session, dataset_id)
    by_episode: dict[int, list[Judgement]] = {}
    for row in rows:
        by_episode.setdefault(row.episode_id, []).append(judgement(row))
    # Alpha over a whole dataset is numpy work: off the event loop.
    agreement = await asyncio.to_thread(dataset_agreement, list(by_episode.values()))
    marks = await segment_marks(rt, dataset_id=dataset_id)
    segments = await asyncio.to_thread(segment_agreement, list(marks.values()))
    return AnnotationProgress(
        episodes=sum(counts.values()),
        unannotated=counts.get(0, 0),
        single=counts.get(1, 0),
        multiple=sum(n for annotators, n in counts.items() if annotators >= 2),
        agreement=agreement,
        segments=segments,
    )


async def progress_by_datasets(rt: Runtime, dataset_ids: Sequence[int]) -> list[AnnotationProgress]:
    return [await annotation_progress(rt, d) for d in dataset_ids]
