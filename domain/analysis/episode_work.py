"""What one worker process does for one episode: read its file, compute, return a small result.

Runs in the analysis process pool, so it opens the file itself (h5py handles do not cross
processes) and returns plain dicts. Camera frames are read a chunk at a time, so memory per
worker stays at one chunk however long the episode is.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np

from domain.analysis.kinds import AnalysisKind
from persistence.episode_files import IMAGE_PREFIX

FRAME_CHUNK = 32


def _arrays(f: h5py.File, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    state = np.asarray(f["observation.state"][:], dtype=np.float64) if "observation.state" in f else None
    length = len(state) if state is not None else 0
    if "timestamp" in f:
        timestamps = np.asarray(f["timestamp"][:], dtype=np.float64)
    else:
        timestamps = np.arange(length, dtype=np.float64) / fps
    if state is None:
        state = np.zeros((len(timestamps), 0))
    gripper = (
        np.asarray(f["observation.gripper"][:], dtype=np.float64).reshape(-1)
        if "observation.gripper" in f
        else None
    )
    return state, timestamps, gripper


def _frame_stats(f: h5py.File) -> dict[str, dict[str, np.ndarray]]:
    """Per camera: each frame's mean brightness and its mean absolute difference to the previous frame."""
    stats = {}
    for name in f:
        if not name.startswith(IMAGE_PREFIX):
            continue
        images = f[name]
        brightness, change = np.empty(len(images)), np.full(len(images), np.inf)
        previous = None
        for start in range(0, len(images), FRAME_CHUNK):
            chunk = images[start : start + FRAME_CHUNK].astype(np.int16)
            brightness[start : start + len(chunk)] = chunk.reshape(len(chunk), -1).mean(axis=1)
            joined = chunk if previous is None else np.concatenate([previous[None], chunk])
            diffs = np.abs(np.diff(joined, axis=0)).reshape(len(joined) - 1, -1).mean(axis=1)
            change[start + (1 if previous is None else 0) : start + len(chunk)] = diffs
            previous = chunk[-1]
        stats[name[len(IMAGE_PREFIX) :]] = {"brightness": brightness, "change": change}
    return stats


def _time_at(timestamps: np.ndarray, frame: int, fps: float) -> float:
    if 0 <= frame < len(timestamps) and np.isfinite(timestamps[frame]):
        return float(timestamps[frame])
    return frame / fps


def analyse_episode(path: str, kind: str, params: dict, fps: float) -> dict:
    """The result of one kind of analysis for the episode file at `path` (JSON-ready)."""
    from domain.analysis import anomaly_detection, clustering, quality_checks, trajectory_metrics

    analysis = AnalysisKind(kind)
    with h5py.File(Path(path), "r") as f:
        state, timestamps, gripper = _arrays(f, fps)
        if analysis is AnalysisKind.QUALITY_REPORT:
            counts = {n[len(IMAGE_PREFIX) :]: len(f[n]) for n in f if n.startswith(IMAGE_PREFIX)}
            quality = quality_checks.check_episode(
                state, timestamps, counts, _frame_stats(f), quality_checks.QualityParams(**params)
            )
            return {"quality": plain(asdict(quality)), "length": len(timestamps)}
    if analysis is AnalysisKind.TRAJECTORY_METRICS:
        metrics = trajectory_metrics.compute_metrics(
            state, timestamps, trajectory_metrics.TrajectoryParams(**params)
        )
        return {"metrics": plain(asdict(metrics))}
    if analysis is AnalysisKind.ANOMALY_DETECTION:
        found = anomaly_detection.detect_anomalies(
            state, timestamps, gripper, anomaly_detection.AnomalyParams(**params)
        )
        return {
            "suggestions": [
                dict(
                    plain(asdict(s)),
                    from_time=_time_at(timestamps, s.from_frame, fps),
                    to_time=_time_at(timestamps, s.to_frame, fps),
                )
                for s in found
            ]
        }
    metrics = trajectory_metrics.compute_metrics(state, timestamps, trajectory_metrics.TrajectoryParams())
    features = clustering.episode_features(state, timestamps, metrics)
    return {"features": [float(v) for v in features]}


def plain(value):
    """numpy scalars and arrays, tuples and non-finite floats made JSON-ready."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
