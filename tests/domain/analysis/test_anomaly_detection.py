"""Suggested anomalies: every defect of the 24-episode demo where the generator put it, none on the
clean episodes, and each detector on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from domain.analysis.anomaly_detection import AnomalyParams, detect_anomalies
from domain.datasets.demo import DemoSpec, generate_episode

EXPECTED = {"jitter": "JITTER", "hesitation": "HESITATION", "velocity_spike": "VELOCITY_SPIKE",
            "dropped_frame": "SENSOR_DROPOUT", "nan_state": "SENSOR_DROPOUT"}


@pytest.fixture(scope="module")
def demo_findings() -> dict[int, tuple[list[dict], list]]:
    spec = DemoSpec()
    found = {}
    for index in range(spec.episodes):
        episode = generate_episode(spec, index)
        a = episode.arrays
        found[index] = (episode.defects, detect_anomalies(a["observation.state"], a["timestamp"],
                                                          a.get("observation.gripper")))
    return found


def test_every_demo_defect_is_found_in_its_frame_range(demo_findings):
    defective = {i: v for i, v in demo_findings.items() if v[0]}
    assert len(defective) == 5
    for index, (defects, suggestions) in defective.items():
        for record in defects:
            hits = [s for s in suggestions if s.type == EXPECTED[record["type"]]
                    and s.from_frame <= record["to_frame"] + 1 and s.to_frame >= record["from_frame"] - 1]
            assert hits, (index, record, suggestions)
            assert all(any(c.isdigit() for c in s.description) for s in hits)


def test_clean_demo_episodes_get_no_suggestions(demo_findings):
    noisy = {i: s for i, (defects, s) in demo_findings.items() if not defects and s}
    assert noisy == {}


def smooth(n: int = 300, joints: int = 7) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / 30.0
    s = np.clip(t / t[-1], 0, 1)
    profile = 10 * s**3 - 15 * s**4 + 6 * s**5  # one minimum-jerk move
    return np.outer(profile, np.linspace(0.5, 1.5, joints)), t


def test_each_detector_on_hand_made_arrays():
    state, t = smooth()
    assert detect_anomalies(state, t, None) == []
    spiky = state.copy()
    spiky[150] += 0.3
    spike = [s for s in detect_anomalies(spiky, t, None) if s.type == "VELOCITY_SPIKE"]
    assert [(s.from_frame, s.to_frame) for s in spike] == [(149, 151)] and "z-score" in spike[0].description
    holed = state.copy()
    holed[40:43, 2] = np.nan
    nan = detect_anomalies(holed, t, None)
    assert [(s.type, s.from_frame, s.to_frame, s.severity) for s in nan] == [("SENSOR_DROPOUT", 40, 42, "HIGH")]
    gappy = t.copy()
    gappy[100:] += 2 / 30
    gap = detect_anomalies(state, gappy, None)
    assert [(s.from_frame, s.to_frame) for s in gap] == [(99, 100)] and "about 2 frame(s)" in gap[0].description
    repeated = t.copy()
    repeated[200] = repeated[199]
    once = detect_anomalies(state, repeated, None)  # no spike from a zero step, no echo gap after it
    assert [(s.type, s.from_frame, s.to_frame) for s in once] == [("SENSOR_DROPOUT", 199, 200)]
    assert "does not increase" in once[0].description
    stuck = detect_anomalies(state, np.zeros(len(t)), None)
    assert [s.description.split(" (")[0] for s in stuck] == [f"timestamp does not increase on {len(t) - 1} step(s)"]


def test_stops_need_to_be_mid_motion_and_away_from_the_gripper():
    state, t = smooth(600)
    halted = np.concatenate([state[:300], np.repeat(state[300:301], 75, axis=0), state[300:525]])  # 2.5 s
    found = detect_anomalies(halted, t, None)
    assert [(s.type, s.from_frame <= 300 <= s.to_frame) for s in found] == [("UNEXPECTED_STOP", True)]
    short = np.concatenate([state[:300], np.repeat(state[300:301], 20, axis=0), state[300:580]])
    assert [s.type for s in detect_anomalies(short, t, None)] == ["HESITATION"]
    gripper = np.zeros(600)
    gripper[300:321] = np.linspace(0, 1, 21)
    gripper[321:] = 1
    assert detect_anomalies(short, t, gripper) == []  # grasping: the arm waits for the gripper
    brief = np.zeros(600)
    brief[305:312] = np.linspace(0, 1, 7)
    brief[312:] = 1
    assert [s.type for s in detect_anomalies(short, t, brief)] == ["HESITATION"]  # mostly just halted
    assert detect_anomalies(short, t, None, AnomalyParams(stop_min_seconds=1.0)) == []


def test_jitter_and_gripper_chatter():
    state, t = smooth()
    rng = np.random.default_rng(0)
    shaky = state.copy()
    shaky[100:160] += rng.normal(0, 0.02, (60, 7))
    jitter = [s for s in detect_anomalies(shaky, t, None) if s.type == "JITTER"]
    assert len(jitter) == 1 and jitter[0].from_frame <= 100 and jitter[0].to_frame >= 159
    gripper = np.zeros(300)
    gripper[50:70:4] = 1.0  # opens and closes five times in 20 frames
    chatter = [s for s in detect_anomalies(state, t, gripper) if s.type == "OTHER"]
    assert len(chatter) == 1 and "chatter" in chatter[0].description
