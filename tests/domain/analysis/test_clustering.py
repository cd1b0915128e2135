"""Clustering: blobs recovered, k by silhouette, outliers named, silhouette against a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from domain.analysis.clustering import ClusteringParams, cluster, episode_features, silhouette
from domain.analysis.trajectory_metrics import compute_metrics


def blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [10, 0, 5], [0, 12, -6]], dtype=float)
    truth = np.repeat(np.arange(3), 15)
    return centres[truth] + rng.normal(0, 0.5, (45, 3)), truth


def same_partition(a, b) -> bool:
    pairs = {(x, y) for x, y in zip(a, b, strict=True)}
    return len(pairs) == len(set(a)) == len(set(b))


@pytest.mark.parametrize("method", ["hierarchical", "kmeans"])
def test_separated_blobs_are_recovered_with_k_by_silhouette(method):
    points, truth = blobs()
    result = cluster(points, ClusteringParams(method=method))
    assert result.k == 3 and same_partition(result.labels, truth.tolist())
    assert sorted(result.sizes) == [15, 15, 15] and result.silhouette > 0.8
    fixed = cluster(points, ClusteringParams(method=method, n_clusters=2))
    assert fixed.k == 2 and sum(fixed.sizes) == 45


def test_a_far_point_is_an_outlier():
    points, _ = blobs(1)
    points = np.vstack([points, [[5, 40, 0]]])
    result = cluster(points, ClusteringParams(n_clusters=3))
    assert result.outliers == [45]


def test_ordinary_scatter_is_not_named():
    named = [cluster(blobs(seed)[0]).outliers for seed in range(20)]
    assert sum(map(len, named)) <= 1, named


def test_silhouette_by_hand():
    points = np.array([[0.0], [1.0], [5.0], [6.0]])
    labels = np.array([0, 0, 1, 1])
    # point 0: a = 1, b = mean(5, 6) = 5.5 -> 1 - 1/5.5; point 1: a = 1, b = 4.5 -> 1 - 1/4.5; symmetric
    want = np.mean([1 - 1 / 5.5, 1 - 1 / 4.5, 1 - 1 / 4.5, 1 - 1 / 5.5])
    assert silhouette(points, labels) == pytest.approx(want)


def test_few_episodes_and_constant_features():
    assert cluster(np.zeros((0, 12))).k == 0
    assert cluster(np.zeros((2, 4))).k == 1 and cluster(np.zeros((2, 4))).silhouette is None
    constant = cluster(np.ones((6, 3)))
    assert constant.outliers == [] and sum(constant.sizes) == 6


def test_features_are_finite_and_fixed_length():
    t = np.arange(50) / 30.0
    state = np.sin(t)[:, None].repeat(7, axis=1)
    state[3, 1] = np.nan
    features = episode_features(state, t, compute_metrics(state, t))
    assert features.shape == (12,) and np.isfinite(features).all()
    # An episode too short to measure has no metrics, so no features: the run leaves it out.
    assert compute_metrics(np.zeros((0, 7)), np.zeros(0)) is None
