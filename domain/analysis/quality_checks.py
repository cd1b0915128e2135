"""Dataset health: per-episode checks (NaN, gaps, frame counts, frozen joints, dark or frozen camera
frames) and the dataset summary that adds lengths far from the median."""

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


@dataclass
class QualityReport:
    episodes: int
    median_length: float
    # check name -> indexes of the episodes it found (only checks that found something)
    affected: dict[str, list[int]]
    counts: dict[str, int]


CHECKS = (
    "nan",
    "gaps",
    "non_increasing_timestamps",
    "frame_count_mismatch",
    "frozen_joints",
    "dark_frames",
    "frozen_camera",
    "length_outlier",
)


def check_episode(
    state: np.ndarray,
    timestamps: np.ndarray,
    camera_frame_counts: dict[str, int],
    frame_stats: dict[str, dict[str, np.ndarray]] | None,
    params: QualityParams | None = None,
) -> EpisodeQuality:
    """`frame_stats[camera]` holds per-frame `brightness` (mean pixel) and `change` (mean absolute
    difference to the previous frame; anything for the first)."""
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
        q.gaps = int((finite_steps > params.gap_factor * np.median(positive)).sum())
    q.frame_counts = {
        "timestamp": len(timestamps),
        **({"state": len(state)} if state.size else {}),
        **{f"camera:{c}": int(n) for c, n in camera_frame_counts.items()},
    }
    q.count_mismatch = len(set(q.frame_counts.values())) > 1
    for camera, stats in (frame_stats or {}).items():
        dark = int((np.asarray(stats["brightness"]) < params.dark_brightness).sum())
        starts, ends = stop_runs(np.asarray(stats["change"])[1:] < params.frozen_frame_change)
        frozen = int(
            sum(e - s for s, e in zip(starts, ends, strict=True) if e - s + 1 >= params.frozen_frames_min)
        )
        if dark:
            q.dark_frames[camera] = dark
        if frozen:
            q.frozen_frames[camera] = frozen
    return q


def summarise(
    episodes: list[tuple[int, EpisodeQuality, int]], params: QualityParams | None = None
) -> QualityReport:
    """Counts and affected episode indexes per check; lengths beyond median x or / f are outliers."""
    params = params or QualityParams()
    lengths = np.array([length for _, _, length in episodes], dtype=np.float64)
    median = float(np.median(lengths)) if len(lengths) else 0.0
    affected: dict[str, list[int]] = {name: [] for name in CHECKS}
    for index, q, length in episodes:
        found = {
            "nan": q.nan_frames > 0,
            "gaps": q.gaps > 0,
            "non_increasing_timestamps": q.non_increasing > 0,
            "frame_count_mismatch": q.count_mismatch,
            "frozen_joints": bool(q.frozen_joints),
            "dark_frames": bool(q.dark_frames),
            "frozen_camera": bool(q.frozen_frames),
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
    )
