"""Trajectory quality of one episode, as the implementation guide (section 7) defines it, vectorised.

Velocity, acceleration and jerk are finite differences over the time steps (a non-positive step is
replaced by 1e-6); smoothness = 1 / (1 + RMS jerk); efficiency = straight-line distance / path
length clipped to [0, 1] (1 for a path of length 0); jitter = the Welch power spectral density of the
speed summed above `jitter_frequency_hz`, the sampling rate from the mean time step; hesitations are
runs of at least `hesitation_min_frames` speeds below `velocity_threshold` that end before the
episode does, as the guide's loop counts them (a robot at rest after placing is not hesitating;
`hesitation_at_end` also counts a run still going at the end); corrections are consecutive velocity
directions with a dot product below -0.5; the overall grade (1-5) is truncated after adding 1e-9
against float noise. Samples with a NaN or infinite position or timestamp are left out first (a real
file has them; the anomaly detector reports them).

An episode with fewer than MIN_SAMPLES finite samples (or no joints: a video) has no metrics
(`compute_metrics` returns None). The guide returns perfect values and grade 3 below three samples,
which ranks an empty episode as the best one (issue 15); a smoothness also needs one jerk value, so
four samples are the least that measure every metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import signal


class TrajectoryParams(BaseModel):
    """Thresholds of the trajectory metrics (the guide's defaults)."""

    model_config = ConfigDict(extra="forbid")

    velocity_threshold: float = Field(0.01, gt=0, description="Speed below which the arm counts as stopped.")
    hesitation_min_frames: int = Field(5, ge=1, description="Stopped samples in a row: a hesitation.")
    jitter_frequency_hz: float = Field(10.0, gt=0, description="Speed power above this frequency is jitter.")
    smoothness_flag: float = Field(0.5, ge=0, le=1, description="Flag `jittery` below this smoothness.")
    jitter_flag: float = Field(1.0, ge=0, description="Flag `jittery` above this jitter.")
    hesitation_flag: int = Field(3, ge=0, description="Flag `hesitation` above this many hesitations.")
    hesitation_at_end: bool = Field(
        False,
        description=(
            "Also count a stop still going at the end of the episode as a hesitation "
            "(the guide does not: a robot at rest after placing is not hesitating)."
        ),
    )
    correction_flag: int = Field(5, ge=0, description="Flag `correction-heavy` above this many corrections.")


# velocity, acceleration and jerk each take one sample: the smoothness needs a jerk value.
MIN_SAMPLES = 4


@dataclass(frozen=True)
class TrajectoryMetrics:
    smoothness: float
    efficiency: float
    jitter: float
    hesitation_count: int
    correction_count: int
    path_length: float
    overall_grade: int  # 1-5, from the weighted metrics (`grade`)
    flags: tuple[str, ...]
    mean_speed: float
    max_speed: float
    duration: float
    samples: int


def finite_samples(positions: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(positions, dtype=np.float64)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    positions = positions.reshape(len(timestamps), positions.shape[-1] if positions.ndim > 1 else -1)
    keep = np.isfinite(timestamps) & np.isfinite(positions).all(axis=1)
    return positions[keep], timestamps[keep]


def velocities(positions: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Velocity per step and the steps used (non-positive ones replaced by 1e-6)."""
    dt = np.diff(timestamps)
    dt = np.where(dt > 0, dt, 1e-6)
    return np.diff(positions, axis=0) / dt[:, None], dt


def stop_runs(stopped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run of True."""
    edges = np.diff(np.concatenate(([0], stopped.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def count_hesitations(speed: np.ndarray, params: TrajectoryParams) -> int:
    """Runs of at least `hesitation_min_frames` speeds below `velocity_threshold`. The guide's loop
    counts a run when a moving step closes it, so a run reaching the last step is not counted unless
    `hesitation_at_end`."""
    starts, ends = stop_runs(speed < params.velocity_threshold)
    long = ends - starts >= params.hesitation_min_frames
    if not params.hesitation_at_end:
        long &= ends < len(speed)
    return int(np.sum(long))


def jitter_of(speed: np.ndarray, timestamps: np.ndarray, threshold_hz: float) -> float:
    step = float(np.mean(np.diff(timestamps[:-1]))) if len(timestamps) > 2 else 0.0
    fs = 1.0 / (step if step > 0 else 1e-6)
    frequencies, psd = signal.welch(speed, fs=fs, nperseg=min(256, len(speed)))
    return float(np.sum(psd[frequencies > threshold_hz]))


def grade(smoothness: float, efficiency: float, jitter: float, hesitations: int, corrections: int) -> int:
    """The overall grade, 1-5: the guide's weighted sum of the metrics (each 0-1) times 5."""
    value = (
        smoothness * 0.3
        + efficiency * 0.25
        + (1.0 - min(jitter, 1.0)) * 0.25
        + max(0.0, 1.0 - hesitations / 10) * 0.1
        + max(0.0, 1.0 - corrections / 20) * 0.1
    )
    # Truncated; 1e-9 absorbs float noise (a perfect straight line sums to 4.999999999999999).
    return int(np.clip(value * 5 + 1e-9, 1, 5))


def flags_of(
    params: TrajectoryParams, smoothness: float, jitter: float, hesitations: int, corrections: int
) -> tuple[str, ...]:
    flags = []
    if smoothness < params.smoothness_flag or jitter > params.jitter_flag:
        flags.append("jittery")
    if hesitations > params.hesitation_flag:
        flags.append("hesitation")
    if corrections > params.correction_flag:
        flags.append("correction-heavy")
    return tuple(flags)


def measurable_samples(positions: np.ndarray, timestamps: np.ndarray) -> int:
    """Finite samples the metrics would use (0 without joints: a video has nothing to measure)."""
    positions, _ = finite_samples(positions, timestamps)
    return len(positions) if positions.shape[1] else 0


def compute_metrics(
    positions: np.ndarray, timestamps: np.ndarray, params: TrajectoryParams | None = None
) -> TrajectoryMetrics | None:
    """The metrics of one episode (positions N x J, timestamps N seconds), or None when it has fewer
    than MIN_SAMPLES finite samples: too short to measure, so no grade to rank it by."""
    params = params or TrajectoryParams()
    positions, timestamps = finite_samples(positions, timestamps)
    n = len(positions) if positions.shape[1] else 0
    if n < MIN_SAMPLES:
        return None
    duration = float(timestamps[-1] - timestamps[0])
    velocity, dt = velocities(positions, timestamps)
    acceleration = np.diff(velocity, axis=0) / dt[1:, None]
    jerk = np.diff(acceleration, axis=0) / dt[2:, None]
    smoothness = float(1.0 / (1.0 + np.sqrt(np.mean(jerk**2))))

    path = float(np.linalg.norm(np.diff(positions, axis=0), axis=1).sum())
    direct = float(np.linalg.norm(positions[-1] - positions[0]))
    efficiency = 1.0 if path == 0 else float(np.clip(direct / path, 0.0, 1.0))

    speed = np.linalg.norm(velocity, axis=1)
    jitter = jitter_of(speed, timestamps, params.jitter_frequency_hz)
    hesitations = count_hesitations(speed, params)
    direction = velocity / (speed[:, None] + 1e-10)
    corrections = int(np.sum(np.sum(direction[:-1] * direction[1:], axis=1) < -0.5))
    return TrajectoryMetrics(
        smoothness=smoothness,
        efficiency=efficiency,
        jitter=jitter,
        hesitation_count=hesitations,
        correction_count=corrections,
        path_length=path,
        overall_grade=grade(smoothness, efficiency, jitter, hesitations, corrections),
        flags=flags_of(params, smoothness, jitter, hesitations, corrections),
        mean_speed=float(speed.mean()),
        max_speed=float(speed.max()),
        duration=duration,
        samples=n,
    )
