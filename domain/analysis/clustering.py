"""Groups of similar episodes: a feature vector per episode, standardised, clustered with SciPy
(Ward hierarchical or k-means), k chosen by the mean silhouette unless given, outliers named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.cluster.vq import kmeans2
from scipy.spatial.distance import pdist, squareform

from domain.analysis.trajectory_metrics import TrajectoryMetrics, finite_samples

FEATURES = (
    "duration",
    "path_length",
    "smoothness",
    "efficiency",
    "log_jitter",
    "hesitations",
    "corrections",
    "mean_speed",
    "max_speed",
    "mean_joint_range",
    "max_joint_range",
    "joint_range_spread",
)


class ClusteringParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_clusters: int | None = Field(
        None, ge=1, description="Number of clusters; default: chosen by silhouette."
    )
    max_clusters: int = Field(8, ge=2, description="Largest k tried when choosing by silhouette.")
    method: Literal["hierarchical", "kmeans"] = Field("hierarchical", description="Ward linkage or k-means.")
    outlier_z: float = Field(
        5.0, gt=0, description="Distance to the own centre beyond which an episode is an outlier (robust z)."
    )
    seed: int = Field(0, description="Seed of k-means.")


@dataclass(frozen=True)
class ClusterResult:
    labels: list[int]
    k: int
    silhouette: float | None
    outliers: list[int]
    sizes: list[int]
    centres: list[list[float]]


def episode_features(positions: np.ndarray, timestamps: np.ndarray, metrics: TrajectoryMetrics) -> np.ndarray:
    positions, _ = finite_samples(positions, timestamps)
    ranges = np.ptp(positions, axis=0) if len(positions) and positions.shape[1] else np.zeros(1)
    values = [
        metrics.duration,
        metrics.path_length,
        metrics.smoothness,
        metrics.efficiency,
        np.log1p(metrics.jitter),
        metrics.hesitation_count,
        metrics.correction_count,
        metrics.mean_speed,
        metrics.max_speed,
        float(ranges.mean()),
        float(ranges.max()),
        float(ranges.std()),
    ]
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def standardise(features: np.ndarray) -> np.ndarray:
    std = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987); a point alone in its cluster scores 0."""
    distances = squareform(pdist(points))
    clusters = np.unique(labels)
    scores = np.zeros(len(points))
    for i in range(len(points)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = distances[i, own].sum() / (own.sum() - 1)
        b = min(distances[i, labels == c].mean() for c in clusters if c != labels[i])
        scores[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return float(scores.mean())


def _labels(points: np.ndarray, k: int, params: ClusteringParams) -> np.ndarray:
    if params.method == "kmeans":
        _, labels = kmeans2(points, k, minit="++", seed=params.seed)
    else:
        labels = fcluster(linkage(points, method="ward"), k, criterion="maxclust") - 1
    # Renumber by first appearance so that labels are stable and dense.
    order = {c: n for n, c in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[c] for c in labels.tolist()])


def cluster(features: np.ndarray, params: ClusteringParams | None = None) -> ClusterResult:
    params = params or ClusteringParams()
    features = np.asarray(features, dtype=np.float64)
    features = features.reshape(len(features), features.shape[-1] if features.ndim > 1 else -1)
    n = len(features)
    points = standardise(features) if n else features.reshape(0, 0)
    if n < 3 or params.n_clusters == 1:
        labels, k, score = np.zeros(n, int), 1 if n else 0, None
    elif params.n_clusters is not None:
        k = min(params.n_clusters, n)
        labels = _labels(points, k, params)
        k = len(np.unique(labels))
        score = silhouette(points, labels) if 1 < k < n else None
    else:
        best = None
        for k in range(2, min(params.max_clusters, n - 1) + 1):
            labels = _labels(points, k, params)
            if len(np.unique(labels)) < 2:
                continue
            s = silhouette(points, labels)
            if best is None or s > best[0] + 1e-12:
                best = (s, labels)
        if best is None:
            labels, score = np.zeros(n, int), None
        else:
            score, labels = best
        k = len(np.unique(labels))
    if n == 0:
        return ClusterResult(labels=[], k=0, silhouette=None, outliers=[], sizes=[], centres=[])
    centres = np.array([points[labels == c].mean(axis=0) for c in range(k)])
    distances = np.linalg.norm(points - centres[labels], axis=1)
    # Robust z of the distance to the own centre (median and MAD): one far episode cannot hide itself
    # by inflating the spread, and ordinary scatter is not named.
    median = np.median(distances)
    mad = 1.4826 * np.median(np.abs(distances - median))
    outliers = np.flatnonzero((distances - median) / mad > params.outlier_z).tolist() if mad > 0 else []
    return ClusterResult(
        labels=labels.tolist(),
        k=int(k),
        silhouette=score,
        outliers=[int(i) for i in outliers],
        sizes=[int((labels == c).sum()) for c in range(k)],
        centres=centres.tolist(),
    )
