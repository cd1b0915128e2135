"""The vectorised trajectory metrics against the loop-based transcription, and on hand-made paths."""

from __future__ import annotations

import numpy as np
import pytest

from domain.analysis.trajectory_metrics import TrajectoryParams, compute_metrics
from tests.domain.analysis.trajectory_reference import reference_metrics

NAMES = (
    "smoothness",
    "efficiency",
    "jitter",
    "hesitation_count",
    "correction_count",
    "path_length",
    "overall_grade",
)


def assert_same(positions, timestamps, params=TrajectoryParams()) -> None:
    got = compute_metrics(positions, timestamps, params)
    want = reference_metrics(positions, timestamps, params)
    if want is None or got is None:
        assert got is None and want is None, (got, want)
        return
    for name in NAMES:
        assert abs(getattr(got, name) - want[name]) <= 1e-9 * max(1.0, abs(want[name])), (name, got, want)
    assert list(got.flags) == want["flags"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 40, 300])
def test_random_trajectories_match_the_transcription(seed, length):
    rng = np.random.default_rng(seed)
    timestamps = np.cumsum(rng.uniform(0.01, 0.05, length))
    positions = np.cumsum(rng.normal(0, 0.02, (length, 7)), axis=0)
    if seed % 3 == 1 and length > 3:  # duplicated and backwards timestamps
        timestamps[length // 2] = timestamps[length // 2 - 1]
        timestamps[1] = timestamps[0] - 0.01
    if seed % 3 == 2 and length > 20:  # pauses, so hesitations are counted
        positions[5:15] = positions[5]
        positions[-8:] = positions[-8]
    assert_same(positions, timestamps)
    assert_same(
        positions,
        timestamps,
        TrajectoryParams(velocity_threshold=0.5, hesitation_min_frames=2, jitter_frequency_hz=3.0),
    )
    assert_same(positions, timestamps, TrajectoryParams(hesitation_at_end=True))


def test_a_straight_line_at_constant_speed_is_perfect():
    t = np.arange(100) / 30.0
    positions = np.outer(t, np.ones(7))
    m = compute_metrics(positions, t)
    assert m.efficiency == pytest.approx(1.0) and m.smoothness == pytest.approx(1.0, abs=1e-6)
    assert m.hesitation_count == 0 and m.correction_count == 0 and m.flags == ()
    assert m.path_length == pytest.approx(np.sqrt(7) * t[-1])
    assert_same(positions, t)


def test_pauses_reversals_and_short_episodes():
    t = np.arange(60) / 30.0
    x = np.concatenate([np.linspace(0, 1, 20), np.full(6, 1.0), np.linspace(1, 0.5, 34)])
    positions = x[:, None].repeat(3, axis=1)
    m = compute_metrics(positions, t)
    assert m.hesitation_count == 1  # six equal samples: five zero-speed steps
    assert m.correction_count == 0  # the pause breaks the reversal (zero direction in between)
    zigzag = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.0], [1.0]])
    z = compute_metrics(zigzag, np.arange(8) / 30.0)
    assert z.correction_count == 6 and "correction-heavy" in z.flags and z.efficiency == pytest.approx(1 / 7)
    assert_same(zigzag, np.arange(8) / 30.0)


@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_an_episode_too_short_to_measure_has_no_metrics(length):
    """Issue 15 (hdf5/zerolen): the guide's perfect values and grade 3 for an empty episode ranked it best."""
    positions = np.arange(length * 3, dtype=float).reshape(length, 3)
    assert compute_metrics(positions, np.arange(length) / 30.0) is None
    assert_same(positions, np.arange(length) / 30.0)


def test_four_finite_samples_are_the_least_that_measure():
    positions = np.array([[0.0], [1.0], [1.5], [4.0]])
    four = compute_metrics(positions, np.arange(4) / 30.0)
    assert four is not None and four.samples == 4 and four.smoothness < 1.0
    holed = np.vstack([positions, [[np.nan]]])[[0, 1, 4, 2]]  # one NaN among four: three finite
    assert compute_metrics(holed, np.arange(4) / 30.0) is None
    assert compute_metrics(np.zeros((50, 0)), np.arange(50) / 30.0) is None  # no joints: a video


def test_a_stop_still_going_at_the_end_is_not_a_hesitation():
    """The guide counts a run of stopped steps when a moving step ends it: an arm at rest after placing
    is not hesitating. hesitation_at_end keeps the other reading."""
    t = np.arange(60) / 30.0
    x = np.concatenate([np.linspace(0, 1, 30), np.full(30, 1.0)])  # moves, then rests for 29 steps
    positions = x[:, None].repeat(3, axis=1)
    assert compute_metrics(positions, t).hesitation_count == 0
    assert compute_metrics(positions, t, TrajectoryParams(hesitation_at_end=True)).hesitation_count == 1
    paused = np.concatenate([np.linspace(0, 1, 20), np.full(10, 1.0), np.linspace(1, 2, 30)])
    mid = paused[:, None].repeat(3, axis=1)
    assert compute_metrics(mid, t).hesitation_count == 1  # the same rest mid-motion counts
    start = np.concatenate([np.full(10, 0.0), np.linspace(0, 1, 50)])[:, None].repeat(3, axis=1)
    assert compute_metrics(start, t).hesitation_count == 1  # a wait at the start ends in motion: counted
    assert_same(positions, t)
    assert_same(positions, t, TrajectoryParams(hesitation_at_end=True))


def test_nan_samples_are_left_out():
    t = np.arange(50) / 30.0
    positions = np.sin(t)[:, None].repeat(7, axis=1)
    holed = positions.copy()
    holed[10, 3] = np.nan
    t2 = t.copy()
    t2[20] = np.inf
    with_holes = compute_metrics(holed, t2)
    assert with_holes.samples == 48
    keep = np.ones(50, bool)
    keep[[10, 20]] = False
    assert with_holes == compute_metrics(positions[keep], t[keep])
    assert_same(holed, t2)


def test_jitter_is_seen_above_the_threshold_only():
    t = np.arange(600) / 30.0
    smooth = np.sin(t * 0.5)[:, None].repeat(7, axis=1)
    shaky = smooth + 0.01 * np.sin(2 * np.pi * 13 * t)[:, None]
    calm, jittery = compute_metrics(smooth, t), compute_metrics(shaky, t)
    assert jittery.jitter > 100 * max(calm.jitter, 1e-12) and jittery.smoothness < calm.smoothness
    assert_same(shaky, t)
