"""What travels with each episode of a LeRobot export (`EpisodeExtras`), read in a few statements for
all the planned episodes:

- the task text: a reviewer's correction when there is one (domain/segments/task_text.py), else the
  episode's task description, else the dataset's name (LeRobot needs a task per episode);
- meta/episodes columns (lerobot_export.EPISODE_COLUMNS): the annotators' consensus rating and its
  agreement, their mean grades, the trajectory grade and flags, the latest QUALITY_REPORT values;
- segments as spans of the subtasks table: the agreed segments (domain/segments/consensus.py, temporal
  IoU >= DEFAULT_MIN_IOU) when two or more annotators marked segments on the episode, every segment
  when one did. An agreed segment's median boundaries (x.5 for an even number of annotators) are
  rounded half up; its instruction is the one most of its members carry. The subtasks table holds
  every (label, instruction) used, in the vocabulary's order then by instruction;
- anomaly ranges: every annotator's anomalies (episode annotations), identical ranges once.

Frames here are the source's: lerobot_export.py renumbers them through the edits.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence

from domain.annotations.consensus import Consensus
from domain.annotations.progress import consensus_by_episodes
from domain.core.runtime import Runtime
from domain.datasets.tasks import tasks_by_datasets
from domain.edits.lerobot_export import GRADE_NAMES, EpisodeExtras, Span
from domain.edits.lerobot_spec import AnomalyRange, Subtask
from domain.segments.consensus import DEFAULT_MIN_IOU, SegmentMark, segment_consensus
from domain.segments.service import segments_by_episodes
from domain.segments.task_text import corrections_by_episodes
from domain.segments.vocabulary import segment_labels_by_datasets
from persistence.repositories import episode_analysis as analysis_repo
from persistence.repositories import episode_annotation as annotations_repo
from persistence.tables import DatasetRow, EpisodeRow, EpisodeSegmentRow

QUALITY_REPORT = "QUALITY_REPORT"


async def gather_extras(
    rt: Runtime, dataset: DatasetRow, episodes: Sequence[EpisodeRow]
) -> tuple[tuple[Subtask, ...], list[EpisodeExtras]]:
    """(the subtasks table, each episode's extras in the order given)."""
    ids = [e.id for e in episodes]
    consensus = await consensus_by_episodes(rt, ids)
    async with rt.sessions() as session:
        quality = await analysis_repo.latest_results(session, ids, QUALITY_REPORT)
        rows = await annotations_repo.read_annotations_by_episodes(session, ids)
        anomaly_rows = await annotations_repo.read_anomalies(session, [r.id for r in rows]) if rows else []
    segments = await segments_by_episodes(rt, ids)
    (labels,) = await segment_labels_by_datasets(rt, [dataset.id])
    corrections = await corrections_by_episodes(rt, ids)
    (tasks,) = await tasks_by_datasets(rt, [dataset.id])
    descriptions = {t.index: t.description for t in tasks}

    label_order = {label.id: (n, label.name) for n, label in enumerate(labels)}
    spans_by_episode = [_spans(rows_of) for rows_of in segments]
    used = sorted(
        {key for spans in spans_by_episode for key, _, _ in spans},
        key=lambda k: (label_order[k[0]][0], k[1] or ""),
    )
    subtask_of = {key: n for n, key in enumerate(used)}
    subtasks = tuple(Subtask(label_order[label][1], instruction) for label, instruction in used)

    anomalies: dict[int, set[AnomalyRange]] = {}
    for a in anomaly_rows:
        anomalies.setdefault(a.episode_id, set()).add(
            AnomalyRange(a.from_frame, a.to_frame, a.type, a.severity, a.description)
        )
    extras = []
    for episode, agreed, spans, correction in zip(
        episodes, consensus, spans_by_episode, corrections, strict=True
    ):
        description = descriptions.get(episode.task_index) if episode.task_index is not None else None
        task = (correction.text if correction is not None else None) or description or dataset.name
        values = quality.get(episode.id)
        columns: dict[str, object] = {
            "source_episode_index": episode.index,
            **_consensus_columns(agreed),
            "trajectory_grade": episode.overall_grade,
            "metric_flags": ",".join(episode.metric_flags) if episode.metric_flags else None,
            "quality_report": json.dumps(values.model_dump(), sort_keys=True) if values is not None else None,
            "task_corrected": correction is not None,
            "task_original": correction.original if correction is not None else description,
        }
        extras.append(
            EpisodeExtras(
                task=task,
                columns=columns,
                spans=tuple(Span(subtask_of[key], a, b) for key, a, b in spans),
                anomalies=tuple(
                    sorted(anomalies.get(episode.id, ()), key=lambda r: (r.from_frame, r.to_frame, r.type))
                ),
            )
        )
    return subtasks, extras


def _consensus_columns(agreed: Consensus | None) -> dict[str, object]:
    if agreed is None:
        return {"annotators": 0}
    grades = {g.name: g.mean for g in agreed.grades}
    return {
        "consensus_rating": agreed.rating,
        "rating_agreement": agreed.agreement,
        "annotators": agreed.annotator_count,
        **{f"grade_{name}": grades.get(name) for name in GRADE_NAMES},
    }


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _spans(rows: Sequence[EpisodeSegmentRow]) -> list[tuple[tuple[int, str | None], int, int]]:
    """((label id, instruction), first frame, last frame) of the segments that travel, by first frame."""
    if len({r.annotator_id for r in rows}) <= 1:
        return [((r.label_id, r.instruction), r.from_frame, r.to_frame) for r in rows]
    by_id = {r.id: r for r in rows}
    marks = [
        SegmentMark(r.id, r.annotator_id, r.label_id, r.from_frame, r.to_frame, r.from_time, r.to_time)
        for r in rows
    ]
    out = []
    for agreed in segment_consensus(marks, DEFAULT_MIN_IOU).segments:
        instructions = Counter(by_id[s].instruction for s in agreed.segment_ids if by_id[s].instruction)
        # Most members' instruction; ties: alphabetical first (deterministic).
        instruction = min(instructions, key=lambda t: (-instructions[t], t)) if instructions else None
        first, last = _half_up(agreed.from_frame), _half_up(agreed.to_frame)
        if first <= last:
            out.append(((agreed.label_id, instruction), first, last))
    return out
