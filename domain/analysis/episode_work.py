"""What one worker process does for one episode: read it, compute, return a small result.

Runs in the analysis process pool, so it opens the episode itself through this process's readers
(file handles do not cross processes) and returns plain dicts. Camera frames are read a chunk at a
time, so memory per worker stays at one chunk however long the episode is. Any format's episode
works: the reader gives the standard arrays and frames.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from domain.analysis.kinds import AnalysisKind
from persistence.episode_sources import EpisodeReader, SourceRef
from persistence.episode_sources.readers import process_readers

FRAME_CHUNK = 32


def _arrays(reader: EpisodeReader, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    found = reader.arrays(["observation.state", "timestamp", "observation.gripper"], slice(None))
    state = np.asarray(found["observation.state"], dtype=np.float64) if "observation.state" in found else None
    if state is not None and state.ndim == 1:
        state = state[:, np.newaxis]
    length = len(state) if state is not None else reader.length
    if "timestamp" in found:
        timestamps = np.asarray(found["timestamp"], dtype=np.float64)
    else:
        timestamps = np.arange(length, dtype=np.float64) / fps
    if state is None:
        state = np.zeros((len(timestamps), 0))
    gripper = None
    if "observation.gripper" in found:
        # Several grippers (N x G): the chatter check follows the first one.
        values = np.asarray(found["observation.gripper"], dtype=np.float64)
        # The columns spelled out: an episode without samples has 0 rows, and -1 cannot be inferred.
        gripper = values.reshape(len(values), int(np.prod(values.shape[1:])))[:, 0]
    return state, timestamps, gripper


def _frame_stats(reader: EpisodeReader) -> dict[str, dict[str, np.ndarray]]:
    """Per camera: each frame's mean brightness, its mean absolute difference to the previous frame and its
    sharpness (quality_checks.sharpness of the grey picture). Frames come decoded from the reader, so
    video files (LeRobot MP4, uploaded videos) are read through the same decode path as they are shown."""
    from domain.analysis.quality_checks import sharpness

    stats = {}
    for camera, (count, _, _) in reader.cameras().items():
        brightness, change, sharp = np.empty(count), np.full(count, np.inf), np.empty(count)
        previous = None
        for start in range(0, count, FRAME_CHUNK):
            chunk = np.stack(reader.frames(camera, list(range(start, min(start + FRAME_CHUNK, count)))))
            chunk = chunk.astype(np.int16)
            brightness[start : start + len(chunk)] = chunk.reshape(len(chunk), -1).mean(axis=1)
            grey = chunk.mean(axis=3) if chunk.ndim == 4 else chunk
            sharp[start : start + len(chunk)] = sharpness(grey)
            joined = chunk if previous is None else np.concatenate([previous[None], chunk])
            diffs = np.abs(np.diff(joined, axis=0)).reshape(len(joined) - 1, -1).mean(axis=1)
            change[start + (1 if previous is None else 0) : start + len(chunk)] = diffs
            previous = chunk[-1]
        stats[camera] = {"brightness": brightness, "change": change, "sharpness": sharp}
    return stats


def _time_at(timestamps: np.ndarray, frame: int, fps: float) -> float:
    if 0 <= frame < len(timestamps) and np.isfinite(timestamps[frame]):
        return float(timestamps[frame])
    return frame / fps


def analyse_episode(source: SourceRef, kind: str, params: dict, fps: float) -> dict:
    """The result of one kind of analysis for the episode at `source` (JSON-ready)."""
    from domain.analysis import anomaly_detection, clustering, quality_checks, trajectory_metrics

    analysis = AnalysisKind(kind)
    with process_readers().reader(source) as reader:
        state, timestamps, gripper = _arrays(reader, fps)
        if analysis is AnalysisKind.QUALITY_REPORT:
            counts = {camera: size[0] for camera, size in reader.cameras().items()}
            quality = quality_checks.check_episode(
                state, timestamps, counts, _frame_stats(reader), quality_checks.QualityParams(**params)
            )
            return {"quality": plain(asdict(quality)), "length": len(timestamps)}
    if analysis is AnalysisKind.TRAJECTORY_METRICS:
        metrics = trajectory_metrics.compute_metrics(
            state, timestamps, trajectory_metrics.TrajectoryParams(**params)
        )
        if metrics is None:
            return {"metrics": unmeasured(state, timestamps)}
        return {"metrics": dict(plain(asdict(metrics)), measured=True)}
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
    if metrics is None:  # no motion to compare: left out of the clustering
        return {"features": None}
    features = clustering.episode_features(state, timestamps, metrics)
    return {"features": [float(v) for v in features]}


def unmeasured(state: np.ndarray, timestamps: np.ndarray) -> dict:
    """What a trajectory-metrics run stores for an episode too short to measure: no metric, no grade."""
    from domain.analysis.trajectory_metrics import MIN_SAMPLES, measurable_samples

    samples = measurable_samples(state, timestamps)
    return {
        "measured": False,
        "samples": samples,
        "reason": f"{samples} finite sample(s) of joint positions; the metrics need at least {MIN_SAMPLES}",
    }


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
