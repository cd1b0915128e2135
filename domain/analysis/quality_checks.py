"""Dataset health: per-episode checks (NaN, gaps, frame counts, frozen joints, dark, frozen or blurred
camera frames) and the dataset summary that adds lengths far from the median.

Camera checks read every decoded frame of every camera, whatever the source: image arrays (HDF5, LeRobot
parquet images), MP4 files (LeRobot videos) and uploaded videos alike (episode_work.py reads them through
the episode's reader, a chunk at a time). Frame ranges are [first, last], inclusive, 0-based frame indexes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from domain.analysis.trajectory_metrics import stop_runs


class QualityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gap_factor: float = Field(1.5, gt=1, description="A time step over this multiple of the median is a gap.")
    frozen_joint_range: float = Field(1e-6, ge=0, description="A joint that moves less than this is frozen.")
    dark_brightness: float = Field(
        16.0, ge=0, le=255, description="Mean pixel value below which a frame is dark."
    )
    # A live sensor never repeats a frame exactly; quiet synthetic scenes still change by ~0.02.
    frozen_frame_change: float = Field(
        0.005, ge=0, description="Mean absolute pixel change below which a frame repeats the previous one."
    )
    frozen_frames_min: int = Field(
        10, ge=2, description="Repeated frames in a row that count as a frozen camera."
    )
    blur_ratio: float = Field(
        0.35,
        gt=0,
        lt=1,
        description=(
            "A frame whose sharpness (variance of the grey image's 4-neighbour Laplacian) is below this "
            "share of the camera's median sharpness over the episode is blurred; dark frames are left out "
            "of both."
        ),
    )
    length_factor: float = Field(
        2.0, gt=1, description="Lengths beyond median x or / this factor are outliers."
    )


@dataclass
class EpisodeQuality:
    nan_frames: int = 0
    nan_values: int = 0
    gaps: int = 0
    non_increasing: int = 0
    frame_counts: dict[str, int] = field(default_factory=dict)
    count_mismatch: bool = False
    frozen_joints: list[int] = field(default_factory=list)
    dark_frames: dict[str, int] = field(default_factory=dict)
    frozen_frames: dict[str, int] = field(default_factory=dict)
    # Where: per camera, [first, last] frame ranges (frozen: the frames that repeat the one before them).
    dark_ranges: dict[str, list[list[int]]] = field(default_factory=dict)
    frozen_ranges: dict[str, list[list[int]]] = field(default_factory=dict)
    blurred_frames: dict[str, int] = field(default_factory=dict)
    blurred_ranges: dict[str, list[list[int]]] = field(default_factory=dict)
    # Dropped frame times: each frame that comes after a gap (its step over gap_factor x the median step),
    # and how many frame periods are missing in all (each gap's step / median step, rounded, minus one).
    gap_frames: list[int] = field(default_factory=list)
    dropped_frames: int = 0


@dataclass
class QualityReport:
    episodes: int
    median_length: float
    # check name -> indexes of the episodes it found (only checks that found something)
    affected: dict[str, list[int]]
    counts: dict[str, int]
    # check name -> where in the episodes: {"episode": index, "camera": name or None (gaps: the clock),
    # "frames": [[first, last], ...]} for dark_frames, frozen_camera, blurred_frames and gaps.
    frames: dict[str, list[dict]] = field(default_factory=dict)


def _where(index: int, q: EpisodeQuality) -> dict[str, list[dict]]:
    """Where the frame checks found something in one episode, by check name."""
    out: dict[str, list[dict]] = {}
    for name, found in (
        ("dark_frames", q.dark_ranges),
        ("frozen_camera", q.frozen_ranges),
        ("blurred_frames", q.blurred_ranges),
    ):
        out[name] = [{"episode": index, "camera": c, "frames": r} for c, r in sorted(found.items())]
    if q.gap_frames:
        out["gaps"] = [{"episode": index, "camera": None, "frames": [[f, f] for f in q.gap_frames]}]
    return out


CHECKS = (
    "nan",
    "gaps",
    "non_increasing_timestamps",
    "frame_count_mismatch",
    "frozen_joints",
    "dark_frames",
    "frozen_camera",
    "blurred_frames",
    "length_outlier",
)


def frame_ranges(flags: np.ndarray) -> list[list[int]]:
    """[first, last] (inclusive) of each run of True in `flags`."""
    starts, ends = stop_runs(np.asarray(flags, dtype=bool))
    return [[int(s), int(e) - 1] for s, e in zip(starts, ends, strict=True)]


def sharpness(grey: np.ndarray) -> np.ndarray:
    """Per frame of an N x H x W grey stack: the variance of the 4-neighbour Laplacian over the interior
    pixels (grey levels², 0 for a flat picture); high for sharp edges, low for blurred ones."""
    g = np.asarray(grey, dtype=np.float32)
    if g.shape[1] < 3 or g.shape[2] < 3:
        return np.zeros(len(g))
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    return lap.reshape(len(g), -1).var(axis=1).astype(np.float64)


def check_episode(
    state: np.ndarray,
    timestamps: np.ndarray,
    camera_frame_counts: dict[str, int],
    frame_stats: dict[str, dict[str, np.ndarray]] | None,
    params: QualityParams | None = None,
) -> EpisodeQuality:
    """`frame_stats[camera]` holds per-frame `brightness` (mean pixel), `change` (mean absolute
    difference to the previous frame; anything for the first) and, optionally, `sharpness` (see
    `sharpness`; without it the blur check does not run for that camera)."""
    params = params or QualityParams()
    timestamps = np.asarray(timestamps, dtype=np.float64)
    state = np.asarray(state, dtype=np.float64)
    q = EpisodeQuality()
    if state.size:
        bad = ~np.isfinite(state)
        q.nan_values = int(bad.sum())
        q.nan_frames = int(bad.any(axis=1).sum())
        # Range over the finite values; a joint with none has no range (its NaN is counted above).
        ok = np.isfinite(state)
        ranges = np.where(
            ok.any(axis=0),
            np.where(ok, state, -np.inf).max(axis=0) - np.where(ok, state, np.inf).min(axis=0),
            np.nan,
        )
        if len(state) > 1:
            q.frozen_joints = [int(j) for j in np.flatnonzero(ranges <= params.frozen_joint_range)]
    steps = np.diff(timestamps)
    finite_steps = steps[np.isfinite(steps)]
    q.non_increasing = int((finite_steps <= 0).sum())
    positive = finite_steps[finite_steps > 0]
    if len(positive):
        median_step = float(np.median(positive))
        late = np.isfinite(steps) & (np.nan_to_num(steps, nan=0.0) > params.gap_factor * median_step)
        q.gaps = int(late.sum())
        q.gap_frames = [int(i) + 1 for i in np.flatnonzero(late)]
        q.dropped_frames = int(sum(max(round(steps[i] / median_step) - 1, 1) for i in np.flatnonzero(late)))
    q.frame_counts = {
        "timestamp": len(timestamps),
        **({"state": len(state)} if state.size else {}),
        **{f"camera:{c}": int(n) for c, n in camera_frame_counts.items()},
    }
    q.count_mismatch = len(set(q.frame_counts.values())) > 1
    for camera, stats in (frame_stats or {}).items():
        is_dark = np.asarray(stats["brightness"]) < params.dark_brightness
        dark = int(is_dark.sum())
        starts, ends = stop_runs(np.asarray(stats["change"])[1:] < params.frozen_frame_change)
        # A run of n repeats is n + 1 equal pictures; frames s+1 .. e repeat the one before them.
        long = [(s, e) for s, e in zip(starts, ends, strict=True) if e - s + 1 >= params.frozen_frames_min]
        frozen = int(sum(e - s for s, e in long))
        if dark:
            q.dark_frames[camera] = dark
            q.dark_ranges[camera] = frame_ranges(is_dark)
        if frozen:
            q.frozen_frames[camera] = frozen
            q.frozen_ranges[camera] = [[int(s) + 1, int(e)] for s, e in long]
        if "sharpness" in stats:
            sharp = np.asarray(stats["sharpness"], dtype=np.float64)
            lit = ~is_dark & np.isfinite(sharp)
            if lit.any():
                blurred = lit & (sharp < params.blur_ratio * float(np.median(sharp[lit])))
                if blurred.any():
                    q.blurred_frames[camera] = int(blurred.sum())
                    q.blurred_ranges[camera] = frame_ranges(blurred)
    return q


def summarise(
    episodes: list[tuple[int, EpisodeQuality, int]], params: QualityParams | None = None
) -> QualityReport:
    """Counts and affected episode indexes per check; lengths beyond median x or / f are outliers."""
    params = params or QualityParams()
    lengths = np.array([length for _, _, length in episodes], dtype=np.float64)
    median = float(np.median(lengths)) if len(lengths) else 0.0
    affected: dict[str, list[int]] = {name: [] for name in CHECKS}
    where: dict[str, list[dict]] = {}
    for index, q, length in episodes:
        for name, ranges in _where(index, q).items():
            where.setdefault(name, []).extend(ranges)
        found = {
            "nan": q.nan_frames > 0,
            "gaps": q.gaps > 0,
            "non_increasing_timestamps": q.non_increasing > 0,
            "frame_count_mismatch": q.count_mismatch,
            "frozen_joints": bool(q.frozen_joints),
            "dark_frames": bool(q.dark_frames),
            "frozen_camera": bool(q.frozen_frames),
            "blurred_frames": bool(q.blurred_frames),
            "length_outlier": median > 0
            and not median / params.length_factor <= length <= median * params.length_factor,
        }
        for name, hit in found.items():
            if hit:
                affected[name].append(index)
    return QualityReport(
        episodes=len(episodes),
        median_length=median,
        affected={k: sorted(v) for k, v in affected.items() if v},
        counts={k: len(v) for k, v in affected.items()},
        frames={k: v for k, v in where.items() if v},
    )
