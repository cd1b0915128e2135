"""Dataset health checks on hand-made episodes."""

from __future__ import annotations

import numpy as np

from domain.analysis.quality_checks import QualityParams, check_episode, summarise


def clean(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / 30.0
    return np.sin(t[:, None] * np.arange(1, 8)), t


def stats(n: int, brightness: float = 120.0, change: float = 5.0) -> dict[str, np.ndarray]:
    return {"brightness": np.full(n, brightness), "change": np.full(n, change)}


def test_a_clean_episode_has_nothing_to_report():
    state, t = clean()
    q = check_episode(state, t, {"front": 100}, {"front": stats(100)})
    assert (q.nan_frames, q.gaps, q.non_increasing, q.count_mismatch, q.frozen_joints) == (0, 0, 0, False, [])
    assert q.dark_frames == {} and q.frozen_frames == {}


def test_each_check_finds_its_fault():
    state, t = clean()
    state[[5, 6], 1] = np.nan
    state[:, 4] = 0.25  # a joint that never moves
    t[50:] += 1 / 30  # one dropped frame
    t[80] = t[79]  # a repeated timestamp
    front = stats(100)
    front["brightness"][:7] = 3.0
    front["change"][60:75] = 0.0  # 15 repeated frames
    q = check_episode(state, t, {"front": 100, "side": 90}, {"front": front, "side": stats(90)})
    assert (q.nan_frames, q.nan_values) == (2, 2) and q.frozen_joints == [4]
    assert q.gaps == 2 and q.non_increasing == 1  # the repeat also doubles the step after it
    assert q.count_mismatch and q.frame_counts["camera:side"] == 90
    assert q.dark_frames == {"front": 7} and q.frozen_frames == {"front": 15}
    short = front.copy()
    short["change"] = np.full(100, 5.0)
    short["change"][60:65] = 0.0  # 5 repeats: below frozen_frames_min
    assert check_episode(state, t, {"front": 100}, {"front": short}).frozen_frames == {}


def test_a_joint_that_is_all_nan_is_not_called_frozen(recwarn):
    state, t = clean()
    state[:, 2] = np.nan
    q = check_episode(state, t, {}, None)
    assert q.frozen_joints == [] and q.nan_frames == 100 and not recwarn.list


def test_summary_names_the_episodes_and_the_length_outliers():
    state, t = clean()
    good = check_episode(state, t, {}, None)
    holed = state.copy()
    holed[3, 0] = np.inf
    bad = check_episode(holed, t, {}, None)
    report = summarise([(0, good, 100), (1, bad, 100), (2, good, 110), (3, good, 20), (4, good, 400)],
                       QualityParams())
    assert report.median_length == 100 and report.episodes == 5
    assert report.affected == {"nan": [1], "length_outlier": [3, 4]}
    assert report.counts["nan"] == 1 and report.counts["gaps"] == 0
