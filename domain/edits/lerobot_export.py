"""Edited episodes written as a LeRobot v3.0 dataset (`exportEpisodes(format: LEROBOT)`): the bridge
between the export plan (episodes of any source format and their edits) and the standalone writer
(domain/edits/lerobot_writer.py).

The edits are applied with the HDF5 export's own functions: `kept_frames` chooses the source frames
(trim, removed frames and ranges), `apply_camera_edit` transforms every frame (crop, resize, rotation,
exposure), `renumber` carries segments and anomaly ranges to the written frames. Per episode the
writer is handed the arrays at the kept frames, one lazy frame iterator per camera (frames read 32 at
a time from the source), the task text, the annotation columns of meta/episodes, the per-frame
`subtask_index` and the anomaly ranges (`EpisodeExtras`, gathered by lerobot_export_annotations.py).

Blocking (h5py, PyAV, pyarrow, Pillow): run `write_lerobot_export` in a worker thread. Arguments are
plain values. Its errors: BadUserInput when the episodes do not fit one LeRobot dataset (features
that differ between episodes), ValueError/FileExistsError from the writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import av
import numpy as np

from domain.core.errors import BadUserInput
from domain.edits.frames import kept_frames, renumber
from domain.edits.images import apply_camera_edit
from domain.edits.lerobot_spec import DEFAULT_FEATURES, NO_SUBTASK, SUBTASK_INDEX
from domain.edits.lerobot_writer import (
    AnomalyRange,
    ArrayFeature,
    LeRobotEpisode,
    LeRobotSpec,
    LeRobotSummary,
    Subtask,
    VideoOptions,
    write_lerobot_dataset,
)
from domain.edits.sources import IMAGE_PREFIX, SOURCE_FRAMES, EpisodeSource, open_source
from domain.edits.spec import CameraEdit, EpisodeEdits, EpisodeShape, validate_edits
from persistence.episode_sources import SourceRef

READ_FRAMES = 32  # frames read from the source at once, per camera

# The annotation columns of meta/episodes (name -> LeRobot writer column dtype); null where unknown.
GRADE_NAMES = ("smoothness", "efficiency", "safety", "precision", "video_quality")
EPISODE_COLUMNS: dict[str, str] = {
    "source_episode_index": "int64",  # the episode's index in the exported dataset
    "consensus_rating": "string",  # SUCCESS | PARTIAL | FAILURE | UNKNOWN, majority of annotators
    "rating_agreement": "float64",  # share of annotators on the consensus rating (0-1)
    "annotators": "int64",  # annotators who annotated the episode
    **{f"grade_{name}": "float64" for name in GRADE_NAMES},  # annotators' mean grade, 1-5
    "trajectory_grade": "int64",  # the trajectory metrics' overall grade, 1-5
    "metric_flags": "string",  # the trajectory metrics' flags, comma-separated
    "quality_report": "string",  # the latest QUALITY_REPORT values of the episode, as JSON
    "task_corrected": "bool",  # the task text is a reviewer's correction
    "task_original": "string",  # the task text before the correction
}


class EpisodeFormat(StrEnum):
    HDF5 = "HDF5"  # annograph's own HDF5 layout (one file per episode)
    LEROBOT = "LEROBOT"  # LeRobot v3.0


class VideoCodec(StrEnum):
    AV1 = "libsvtav1"
    H264 = "libx264"


def default_codec() -> VideoCodec:
    """AV1 when this PyAV build has the SVT-AV1 encoder (LeRobot's default), else H.264."""
    return VideoCodec.AV1 if VideoCodec.AV1.value in av.codecs_available else VideoCodec.H264


@dataclass(frozen=True)
class Span:
    """A segment on an episode in source frames (inclusive) and its row of the subtasks table."""

    subtask: int
    from_frame: int
    to_frame: int


@dataclass(frozen=True)
class EpisodeExtras:
    """What travels with one episode besides its arrays and frames; frames are the source's."""

    task: str
    columns: dict[str, object] = field(default_factory=dict)
    spans: tuple[Span, ...] = ()
    anomalies: tuple[AnomalyRange, ...] = ()


@dataclass(frozen=True)
class ExportShape:
    """The dataset as LeRobot's info.json describes it: integer fps, cameras' sizes after the edits
    (one size per camera for every episode), the subtasks table, feature names by array, the codec."""

    fps: int
    cameras: dict[str, tuple[int, int]]
    codec: str
    robot_type: str | None = None
    subtasks: tuple[Subtask, ...] = ()
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)


def lerobot_fps(fps: float | None) -> int:
    """LeRobot's integer fps; BAD_USER_INPUT for a dataset whose rate is not a whole number."""
    if fps is None or fps <= 0 or abs(fps - round(fps)) > 1e-3:
        raise BadUserInput(
            f"format: LeRobot needs a whole number of frames per second; the dataset has {fps}",
            field="format",
        )
    return round(fps)


def subtask_index(spans: Sequence[Span], kept: np.ndarray, length: int) -> np.ndarray:
    """Per written frame, the subtask of the segment covering it (the later segment where they
    overlap), NO_SUBTASK outside every segment; segments renumbered through the edits."""
    mapping = renumber(kept, length)
    index = np.full(len(kept), NO_SUBTASK, np.int64)
    for span in spans:
        new = mapping[max(span.from_frame, 0) : min(span.to_frame, length - 1) + 1]
        index[new[new >= 0]] = span.subtask
    return index


def renumbered_anomalies(
    anomalies: Sequence[AnomalyRange], kept: np.ndarray, length: int
) -> list[AnomalyRange]:
    """Anomaly ranges over the written frames: first and last kept frame of each range (as
    carry.carry_annotations does); a range wholly on removed frames is dropped."""
    mapping = renumber(kept, length)
    out: list[AnomalyRange] = []
    for a in anomalies:
        new = mapping[max(a.from_frame, 0) : min(a.to_frame, length - 1) + 1]
        new = new[new >= 0]
        if len(new):
            out.append(AnomalyRange(int(new[0]), int(new[-1]), a.type, a.severity, a.description))
    return out


def _array_feature(src: EpisodeSource, name: str, names: tuple[str, ...] | None) -> ArrayFeature:
    storage = src.storage(name)
    width = math.prod(storage.tail) if storage.tail else 1
    kind = np.dtype(storage.dtype)
    dtype = "float64" if kind == np.float64 else "int64" if kind.kind in "iub" else "float32"
    return ArrayFeature(width, dtype, names if names is not None and len(names) == width else None)


def array_features(src: EpisodeSource, names: dict[str, tuple[str, ...]]) -> dict[str, ArrayFeature]:
    """The per-frame arrays LeRobot gets from a source: every per-frame dataset but the camera
    streams, `timestamp` (LeRobot's restarts at 0 per episode) and names LeRobot writes itself."""
    skip = {*DEFAULT_FEATURES, SUBTASK_INDEX, SOURCE_FRAMES}
    return {
        name: _array_feature(src, name, names.get(name))
        for name in src.layout.per_frame
        if not name.startswith(IMAGE_PREFIX) and name not in skip
    }


def _frames(src: EpisodeSource, name: str, kept: np.ndarray, edit: CameraEdit) -> Iterator[np.ndarray]:
    """The camera's kept frames, edited, read a few at a time (memory: READ_FRAMES frames)."""
    for start in range(0, len(kept), READ_FRAMES):
        for frame in src.read(name, kept[start : start + READ_FRAMES]):
            yield apply_camera_edit(np.asarray(frame), edit)


def _episodes(
    refs: Sequence[SourceRef],
    plan_edits: Sequence[EpisodeEdits],
    extras: Sequence[EpisodeExtras],
    spec: LeRobotSpec,
) -> Iterator[LeRobotEpisode]:
    """One LeRobotEpisode per planned episode; its source stays open while the writer consumes it
    (the writer takes the next episode only when this one is written)."""
    for number, (ref, edits, extra) in enumerate(zip(refs, plan_edits, extras, strict=True)):
        with open_source(ref) as src:
            length, cameras = src.layout.length, src.layout.cameras
            edits = validate_edits(edits, EpisodeShape(length, dict(cameras)))
            kept = kept_frames(edits, length)
            found = array_features(src, {})
            if {k: v.width for k, v in found.items()} != {k: v.width for k, v in spec.arrays.items()}:
                raise BadUserInput(
                    f"episodes[{number}]: arrays {sorted(found)} differ from the first episode's "
                    f"{sorted(spec.arrays)}: one LeRobot dataset has one set of features"
                )
            yield LeRobotEpisode(
                task=extra.task,
                arrays={name: src.read(name, kept) for name in spec.arrays},
                frames={
                    camera: _frames(src, IMAGE_PREFIX + camera, kept, edits.cameras.get(camera, CameraEdit()))
                    for camera in spec.cameras
                },
                length=len(kept),
                columns=extra.columns,
                subtask_index=subtask_index(extra.spans, kept, length) if spec.subtasks is not None else None,
                anomalies=renumbered_anomalies(extra.anomalies, kept, length),
            )


def write_lerobot_export(
    target: Path,
    refs: Sequence[SourceRef],
    plan_edits: Sequence[EpisodeEdits],
    extras: Sequence[EpisodeExtras],
    shape: ExportShape,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> LeRobotSummary:
    """Write the planned episodes (sources, their edits, what travels with them) as LeRobot v3.0 in
    the new folder `target`. `progress(episodes_done, frames_done)` after each episode; raising from
    it stops the write and removes the folder."""
    with open_source(refs[0]) as first:
        arrays = array_features(first, shape.names)
    spec = LeRobotSpec(
        fps=shape.fps,
        arrays=arrays,
        cameras=shape.cameras,
        robot_type=shape.robot_type,
        episode_columns=EPISODE_COLUMNS,
        subtasks=list(shape.subtasks) if shape.subtasks else None,
        anomalies=True,
        video=VideoOptions(codec=shape.codec),
    )
    return write_lerobot_dataset(target, spec, _episodes(refs, plan_edits, extras, spec), progress=progress)
