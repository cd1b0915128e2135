"""Suggested anomalies of one episode, each with its frame range and the number that triggered it.

- NaN or infinite state or timestamp values: SENSOR_DROPOUT (HIGH).
- Timestamp gaps (a step over `gap_factor` x the median step: frames were dropped) and steps that
  do not increase (duplicated or reordered timestamps): SENSOR_DROPOUT.
- Velocity spikes: |z-score| of the joint speed over `spike_z` (as the guide defines it).
- Mid-motion stops (speed below `stop_speed` for at least `stop_min_seconds`, not touching the start
  or end and not mostly spent moving the gripper): HESITATION, or UNEXPECTED_STOP from `stop_long_seconds`.
  Shorter pauses are how a minimum-jerk arm turns around at a waypoint and are not reported.
- Jitter: the windowed RMS of the state's second difference (high-frequency motion, in radians per
  sample) over `jitter_rms` for at least `jitter_min_frames` frames.
- Gripper chatter: the gripper reversing direction `chatter_reversals` times within `chatter_seconds`.
Frame ranges are inclusive indexes into the episode as stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from domain.analysis.trajectory_metrics import stop_runs


class AnomalyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spike_z: float = Field(3.0, gt=0, description="|z-score| of the speed above which a step is a spike.")
    stop_speed: float = Field(
        0.01, gt=0, description="Joint speed (per second) below which the arm is stopped."
    )
    stop_min_seconds: float = Field(
        0.5, gt=0, description="A mid-motion stop at least this long is reported."
    )
    stop_long_seconds: float = Field(2.0, gt=0, description="From this long, a stop is UNEXPECTED_STOP.")
    gripper_share: float = Field(
        0.5, gt=0, le=1, description="A stop with the gripper moving this share of its steps is a grasp."
    )
    gap_factor: float = Field(1.5, gt=1, description="A time step over this multiple of the median is a gap.")
    jitter_rms: float = Field(
        0.01, gt=0, description="RMS second difference (rad per sample) that is jitter."
    )
    jitter_window: int = Field(9, ge=3, description="Frames in the jitter RMS window.")
    jitter_min_frames: int = Field(5, ge=1, description="Jittery frames in a row that are reported.")
    chatter_reversals: int = Field(
        4, ge=2, description="Gripper reversals within the window that are chatter."
    )
    chatter_seconds: float = Field(1.0, gt=0, description="The gripper chatter window.")


@dataclass(frozen=True)
class Suggestion:
    type: str
    severity: str
    from_frame: int
    to_frame: int
    description: str


def _ranges(frames: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive frame indexes grouped into inclusive (first, last) ranges."""
    if len(frames) == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) > 1)
    starts = np.concatenate(([frames[0]], frames[breaks + 1]))
    ends = np.concatenate((frames[breaks], [frames[-1]]))
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _non_finite(state: np.ndarray, timestamps: np.ndarray) -> list[Suggestion]:
    bad_state = ~np.isfinite(state).all(axis=1) if state.size else np.zeros(len(timestamps), bool)
    bad_time = ~np.isfinite(timestamps)
    out = []
    for a, b in _ranges(np.flatnonzero(bad_state | bad_time)):
        values = int((~np.isfinite(state[a : b + 1])).sum()) if state.size else 0
        what = ", ".join(
            name
            for name, bad in (("state", bad_state[a : b + 1].any()), ("timestamp", bad_time[a : b + 1].any()))
            if bad
        )
        out.append(
            Suggestion(
                "SENSOR_DROPOUT",
                "HIGH",
                a,
                b,
                f"NaN or infinite {what} on {b - a + 1} frame(s) ({values} state value(s))",
            )
        )
    return out


def _timing(timestamps: np.ndarray, params: AnomalyParams) -> list[Suggestion]:
    steps = np.diff(timestamps)
    finite = np.isfinite(steps)
    positive = steps[finite & (steps > 0)]
    median = float(np.median(positive)) if len(positive) else np.inf
    out = []
    for i in np.flatnonzero(finite & (steps > params.gap_factor * median)):
        if i > 0 and steps[i - 1] <= 0 and steps[i] <= (params.gap_factor + 1) * median:
            continue  # the step after a repeated timestamp catches up; the repeat is reported below
        dropped = int(round(steps[i] / median)) - 1
        out.append(
            Suggestion(
                "SENSOR_DROPOUT",
                "MEDIUM" if dropped <= 2 else "HIGH",
                int(i),
                int(i) + 1,
                f"timestamp gap of {steps[i] * 1000:.1f} ms ({steps[i] / median:.1f}x the median step "
                f"{median * 1000:.1f} ms): about {max(dropped, 1)} frame(s) dropped",
            )
        )
    for a, b in _ranges(np.flatnonzero(finite & (steps <= 0))):
        out.append(
            Suggestion(
                "SENSOR_DROPOUT",
                "MEDIUM",
                a,
                b + 1,
                f"timestamp does not increase on {b - a + 1} step(s) "
                f"(smallest step {steps[a : b + 1].min() * 1000:.1f} ms):"
                " duplicated or reordered frames",
            )
        )
    return out


def _speeds(state: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Speed of each step between consecutive finite samples, the frame each step starts at, fps.
    A step that does not advance in time has no speed (NaN): its timing fault is reported on its
    own, and dividing by a stand-in 1e-6 s would invent a spike there."""
    keep = np.flatnonzero(np.isfinite(timestamps) & np.isfinite(state).all(axis=1))
    if len(keep) < 3:
        return np.empty(0), np.empty(0, int), 0.0
    dt = np.diff(timestamps[keep])
    positive = dt[dt > 0]
    fps = 1.0 / float(np.median(positive)) if len(positive) else 0.0
    speed = np.linalg.norm(np.diff(state[keep], axis=0), axis=1) / np.where(dt > 0, dt, np.nan)
    return speed, keep, fps


def _spikes(speed: np.ndarray, keep: np.ndarray, params: AnomalyParams) -> list[Suggestion]:
    if np.isfinite(speed).sum() < 3:
        return []
    mean, spread = float(np.nanmean(speed)), float(np.nanstd(speed))
    z = np.nan_to_num((speed - mean) / (spread + 1e-10), nan=0.0)
    out = []
    for a, b in _ranges(np.flatnonzero(np.abs(z) > params.spike_z)):
        peak = float(np.abs(z[a : b + 1]).max())
        out.append(
            Suggestion(
                "VELOCITY_SPIKE",
                "HIGH" if peak > 2 * params.spike_z else "MEDIUM",
                int(keep[a]),
                int(keep[b + 1]),
                f"joint speed z-score {peak:.1f} > {params.spike_z:g} "
                f"(peak {np.nanmax(speed[a : b + 1]):.3g} rad/s, mean {mean:.3g})",
            )
        )
    return out


def _stops(
    speed: np.ndarray, keep: np.ndarray, fps: float, gripper: np.ndarray | None, params: AnomalyParams
) -> list[Suggestion]:
    if len(speed) == 0 or fps <= 0:
        return []
    gripper_moves = np.zeros(int(keep[-1]) + 1, bool)
    if gripper is not None and len(gripper) > 1:
        g = np.asarray(gripper, dtype=np.float64).reshape(len(gripper), -1)[:, 0]
        moving = np.abs(np.diff(g)) > 1e-3
        gripper_moves[: len(moving)] = moving[: len(gripper_moves)]
    out = []
    starts, ends = stop_runs(speed < params.stop_speed)
    for a, b in zip(starts, ends, strict=True):
        first, last = int(keep[a]), int(keep[b])
        seconds = (b - a) / fps
        if a == 0 or b == len(speed) or seconds < params.stop_min_seconds:
            continue
        # The arm waits while the gripper opens or closes: a stop mostly spent so is a grasp.
        if gripper_moves[first:last].mean() >= params.gripper_share:
            continue
        long = seconds >= params.stop_long_seconds
        out.append(
            Suggestion(
                "UNEXPECTED_STOP" if long else "HESITATION",
                "MEDIUM" if long else "LOW",
                first,
                last,
                f"arm stopped mid-motion for {seconds:.2f} s "
                f"({b - a} steps below {params.stop_speed:g} rad/s), "
                "not at the start or end and not a grasp",
            )
        )
    return out


def _jitter(state: np.ndarray, params: AnomalyParams) -> list[Suggestion]:
    finite = np.isfinite(state).all(axis=1)
    if state.size == 0 or finite.sum() < params.jitter_window + 2:
        return []
    second = np.zeros(len(state))
    d2 = state[2:] - 2 * state[1:-1] + state[:-2]
    ok = finite[2:] & finite[1:-1] & finite[:-2]
    second[1:-1][ok] = np.sqrt(np.mean(d2[ok] ** 2, axis=1))
    window = np.ones(params.jitter_window) / params.jitter_window
    rms = np.sqrt(np.convolve(second**2, window, mode="same"))
    out = []
    for a, b in _ranges(np.flatnonzero(rms > params.jitter_rms)):
        if b - a + 1 >= params.jitter_min_frames:
            peak = float(rms[a : b + 1].max())
            out.append(
                Suggestion(
                    "JITTER",
                    "HIGH" if peak > 4 * params.jitter_rms else "MEDIUM",
                    a,
                    b,
                    f"high-frequency joint motion: RMS second difference {peak:.4f} rad per frame > "
                    f"{params.jitter_rms:g} over {b - a + 1} frames",
                )
            )
    return out


def _chatter(gripper: np.ndarray | None, fps: float, params: AnomalyParams) -> list[Suggestion]:
    if gripper is None or len(gripper) < 3 or fps <= 0:
        return []
    g = np.asarray(gripper, dtype=np.float64).reshape(len(gripper), -1)[:, 0]
    step = np.diff(g)
    moves = np.flatnonzero(np.abs(step) > 1e-3)
    signs = np.sign(step[moves])
    reversals = moves[1:][signs[1:] != signs[:-1]]
    window = max(1, int(round(params.chatter_seconds * fps)))
    out, i = [], 0
    while i < len(reversals):
        j = i
        while j + 1 < len(reversals) and reversals[j + 1] - reversals[i] < window:
            j += 1
        if j - i + 1 >= params.chatter_reversals:
            out.append(
                Suggestion(
                    "OTHER",
                    "MEDIUM",
                    int(reversals[i]),
                    int(reversals[j]) + 1,
                    f"gripper chatter: {j - i + 1} open/close reversals within {params.chatter_seconds:g} s",
                )
            )
            i = j + 1
        else:
            i += 1
    return out


def detect_anomalies(
    state: np.ndarray, timestamps: np.ndarray, gripper: np.ndarray | None, params: AnomalyParams | None = None
) -> list[Suggestion]:
    params = params or AnomalyParams()
    timestamps = np.asarray(timestamps, dtype=np.float64)
    state = np.asarray(state, dtype=np.float64)
    state = state.reshape(len(timestamps), state.shape[-1] if state.ndim > 1 else -1)
    speed, keep, fps = _speeds(state, timestamps)
    spikes = _spikes(speed, keep, params)
    # One displaced sample also rings in the jitter window: that short smear is the spike, not jitter.
    jitter = [
        j
        for j in _jitter(state, params)
        if j.to_frame - j.from_frame > params.jitter_window + 4
        or not any(s.from_frame <= j.to_frame and s.to_frame >= j.from_frame for s in spikes)
    ]
    found = [
        *_non_finite(state, timestamps),
        *_timing(timestamps, params),
        *spikes,
        *_stops(speed, keep, fps, gripper, params),
        *jitter,
        *_chatter(gripper, fps, params),
    ]
    return sorted(found, key=lambda s: (s.from_frame, s.to_frame, s.type))
