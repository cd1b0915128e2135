"""Dataset and project statistics: boxes by label, camera, source, annotator and review state; box sizes
(COCO's small / medium / large and histograms of width and height); track lengths; frames without boxes
per camera; episodes by task and by rating.

Everything is counted by the database (persistence/repositories/statistics.py: GROUP BY statements, a
fixed number of them whatever the size); Python only assembles the groups. Units are pixels (box sides),
px² (areas) and frames (track lengths, frame counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.core.errors import NotFound
from domain.core.runtime import Runtime
from persistence.repositories import project as projects_repo
from persistence.repositories import statistics as repo
from persistence.repositories.dataset import read_dataset
from persistence.repositories.statistics import Scope

INF = float("inf")
# COCO's object sizes by area (px²): small < 32², medium < 96², large the rest
# (https://cocodataset.org/#detection-eval, "Area Ranges"; pycocotools' COCOeval areaRng). An area of
# exactly 32² is medium here, as the brief and the COCO page's wording have it (pycocotools' inclusive
# ranges would count it in both small and medium).
SIZE_CLASSES = ("small", "medium", "large")
SIZE_EDGES = (0.0, 32.0**2, 96.0**2, INF)
# Box width and height histograms, px: half-open bins [low, high), the last open-ended. Fine where
# COCO's size classes change (32, 96) and doubling beyond.
SIDE_EDGES = (0.0, 8.0, 16.0, 32.0, 64.0, 96.0, 128.0, 256.0, 512.0, 1024.0, INF)
# Track length histogram, frames: half-open bins [low, high), the last open-ended.
TRACK_EDGES = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, INF)
UNRATED = "UNRATED"


@dataclass(frozen=True)
class Bin:
    """[low, high) with `count` items in it; `high` is inf for the last bin."""

    low: float
    high: float
    count: int


@dataclass(frozen=True)
class TrackLengths:
    """Lengths in frames (boxes) of tracks, a track being (episode, camera, track id)."""

    tracks: int
    shortest: int | None
    longest: int | None
    mean: float | None
    median: float | None
    histogram: list[Bin]


@dataclass(frozen=True)
class CameraFrames:
    """Frames of one camera summed over the episodes (an episode's frame count for that camera), how
    many hold at least one box and how many hold none."""

    camera: str
    frames: int
    with_boxes: int
    without_boxes: int


@dataclass(frozen=True)
class Statistics:
    episodes: int
    frames: int  # sum of the episodes' lengths
    boxes: int
    by_label: dict[str, int]
    by_camera: dict[str, int]
    by_source: dict[str, int]
    by_review: dict[str, int]
    by_annotator: dict[int | None, int]  # user id of who created the box (None: unknown or deleted)
    by_size: dict[str, int]  # SIZE_CLASSES
    widths: list[Bin]
    heights: list[Bin]
    track_lengths: TrackLengths
    frames_without_boxes: list[CameraFrames]
    episodes_by_task: dict[str | None, int]  # task description (None: no task)
    episodes_by_rating: dict[str, int]  # rating, or UNRATED for episodes nobody rated


def _bins(edges: tuple[float, ...], counts: dict[int, int]) -> list[Bin]:
    return [Bin(edges[i], edges[i + 1], counts.get(i, 0)) for i in range(len(edges) - 1)]


def _keyed(counts: dict[str | None, int]) -> dict[int, int]:
    return {int(k): n for k, n in counts.items() if k is not None}


def track_summary(lengths: dict[int, int]) -> TrackLengths:
    """Summary of a {length: tracks} distribution; the median is the middle length (mean of the two
    middle ones for an even count)."""
    tracks = sum(lengths.values())
    if not tracks:
        return TrackLengths(0, None, None, None, None, _bins(TRACK_EDGES, {}))
    ordered = sorted(lengths.items())

    def nth(k: int) -> int:  # the k-th smallest length, 0-based
        seen = 0
        for length, n in ordered:
            seen += n
            if k < seen:
                return length
        raise AssertionError(k)

    median = (nth((tracks - 1) // 2) + nth(tracks // 2)) / 2
    binned: dict[int, int] = {}
    for length, n in ordered:
        i = next(i for i in range(len(TRACK_EDGES) - 1) if length < TRACK_EDGES[i + 1])
        binned[i] = binned.get(i, 0) + n
    return TrackLengths(
        tracks=tracks,
        shortest=ordered[0][0],
        longest=ordered[-1][0],
        mean=sum(length * n for length, n in ordered) / tracks,
        median=median,
        histogram=_bins(TRACK_EDGES, binned),
    )


def camera_frames(
    episodes: list[tuple[int, int, dict[str, list[int]]]], with_boxes: dict[tuple[int, str], int]
) -> list[CameraFrames]:
    """Per camera (by name), frames summed over the episodes that have it, and those with boxes. A box on
    a camera the episode does not list adds nothing (no frame count to take it from)."""
    frames: dict[str, int] = {}
    boxed: dict[str, int] = {}
    for episode_id, _, cameras in episodes:
        for camera, shape in cameras.items():
            count = int(shape[0]) if shape else 0
            frames[camera] = frames.get(camera, 0) + count
            boxed[camera] = boxed.get(camera, 0) + min(count, with_boxes.get((episode_id, camera), 0))
    return [CameraFrames(c, frames[c], boxed[c], frames[c] - boxed[c]) for c in sorted(frames)]


async def _statistics(rt: Runtime, scope: Scope) -> Statistics:
    async with rt.sessions() as session:
        counts = await repo.categorical_counts(session, scope, SIZE_EDGES, SIDE_EDGES, SIDE_EDGES)
        label_ids = [int(k) for k in counts["label"] if k is not None]
        names = await repo.label_names(session, label_ids) if label_ids else {}
        lengths = await repo.track_lengths(session, scope)
        boxed = await repo.frames_with_boxes(session, scope)
        episodes = await repo.episode_cameras(session, scope)
        tasks = await repo.episodes_by_task(session, scope)
        ratings = await repo.episodes_by_rating(session, scope)
        rated = await repo.rated_episodes(session, scope)
    by_label: dict[str, int] = {}
    for label_id, n in _keyed(counts["label"]).items():
        name = names.get(label_id, str(label_id))  # a project merges labels of one name across datasets
        by_label[name] = by_label.get(name, 0) + n
    sizes = _keyed(counts["size"])
    return Statistics(
        episodes=len(episodes),
        frames=sum(length for _, length, _ in episodes),
        boxes=sum(counts["camera"].values()),
        by_label=dict(sorted(by_label.items())),
        by_camera={str(k): n for k, n in sorted(counts["camera"].items(), key=lambda kv: str(kv[0]))},
        by_source={str(k): n for k, n in sorted(counts["source"].items(), key=lambda kv: str(kv[0]))},
        by_review={str(k): n for k, n in sorted(counts["review"].items(), key=lambda kv: str(kv[0]))},
        by_annotator={None if k is None else int(k): n for k, n in counts["annotator"].items()},
        by_size={name: sizes.get(i, 0) for i, name in enumerate(SIZE_CLASSES)},
        widths=_bins(SIDE_EDGES, _keyed(counts["width"])),
        heights=_bins(SIDE_EDGES, _keyed(counts["height"])),
        track_lengths=track_summary(lengths),
        frames_without_boxes=camera_frames(episodes, boxed),
        episodes_by_task=tasks,
        episodes_by_rating={**ratings, UNRATED: len(episodes) - rated},
    )


async def dataset_statistics(rt: Runtime, dataset_id: int) -> Statistics:
    """The statistics of a dataset's episodes and boxes; NotFound (field `id`) when it does not exist."""
    async with rt.sessions() as session:
        if await read_dataset(session, dataset_id) is None:
            raise NotFound(f"dataset {dataset_id} does not exist", field="id")
    return await _statistics(rt, Scope(dataset_id=dataset_id))


async def project_statistics(rt: Runtime, project_id: int) -> Statistics:
    """The statistics of a project as it defines its data: the episodes linked to it (from any dataset)
    and, when it names labels, only boxes carrying one of those label names. NotFound (field `id`)."""
    async with rt.sessions() as session:
        project = await projects_repo.read_project(session, project_id)
        if project is None:
            raise NotFound(f"project {project_id} does not exist", field="id")
        labels = tuple(project.labels)
    return await _statistics(rt, Scope(project_id=project_id, labels=labels))
