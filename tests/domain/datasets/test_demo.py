"""The demo dataset generator: determinism, motion, documented defects, the street set's true boxes,
file layout. The robot set's workspace scene has its own tests (test_demo_workspace.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from domain.datasets.demo import DEFECT_EPISODES, DemoSpec, generate_episode, write_demo_dataset
from domain.datasets.demo import episode as episode_module
from domain.datasets.demo.defects import DEFECT_TYPES, assign_defects
from domain.datasets.demo.motion import min_jerk

# 8 episodes: defects on 0 (jitter), 2 (hesitation), 4 (spike), 5 (dropped frame), 7 (NaN).
SMALL = DemoSpec(episodes=8, min_length=90, max_length=120, width=80, height=60, seed=3)
STREET = DemoSpec(episodes=8, min_length=90, max_length=120, width=80, height=60, seed=3, scene="street")
SHORTEST = DemoSpec(episodes=5, min_length=40, max_length=40, width=32, height=24, seed=11)
ARRAY_NAMES = {
    "timestamp": ("float64", ()),
    "action": ("float32", (8,)),
    "observation.state": ("float32", (7,)),
    "observation.velocity": ("float32", (7,)),
    "observation.ee_pose": ("float32", (7,)),
    "observation.gripper": ("float32", ()),
}
INFO_KEYS = set(
    "name scene robot_type fps total_episodes total_frames joint_names cameras tasks features".split()
)


@pytest.fixture(scope="module")
def small_episodes():
    return [generate_episode(SMALL, i) for i in range(SMALL.episodes)]


@pytest.fixture(scope="module")
def street_written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("street")
    return folder, write_demo_dataset(folder, STREET)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    calls: list[tuple[int, int]] = []
    summary = write_demo_dataset(folder, SMALL, progress=lambda done, total: calls.append((done, total)))
    return folder, summary, calls


def speed(ep) -> np.ndarray:
    return np.linalg.norm(ep.arrays["observation.velocity"].astype(np.float64), axis=1)


def low_speed_runs(values: np.ndarray, limit: float = 0.01) -> list[tuple[int, int]]:
    slow = np.concatenate([[False], values < limit, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(slow))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def jerk_rms(state: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(state.astype(np.float64), n=3, axis=0) ** 2)))


def kinds(ep) -> list[str]:
    return [d["type"] for d in ep.defects]


def test_spec_rejects_episodes_too_short_for_the_defects():
    with pytest.raises(ValueError):
        DemoSpec(min_length=39)
    with pytest.raises(ValueError):
        DemoSpec(min_length=100, max_length=90)


def test_defect_assignment_rule():
    assert (
        assign_defects(24)
        == DEFECT_EPISODES
        == {
            3: "jitter",
            7: "hesitation",
            11: "velocity_spike",
            15: "dropped_frame",
            19: "nan_state",
        }
    )
    for episodes in range(1, 40):
        plan = assign_defects(episodes)
        assert all(0 <= i < episodes for i in plan)
        assert len(plan) == min(episodes, 5)  # one defect per episode, distinct indices
        if episodes >= 5:
            assert sorted(plan.values()) == sorted(DEFECT_TYPES)


def test_generation_is_deterministic_and_seeded(small_episodes):
    for index in (0, 2, 6):
        again = generate_episode(SMALL, index)
        first = small_episodes[index]
        for name, values in first.arrays.items():
            assert values.tobytes() == again.arrays[name].tobytes(), name
        assert first.defects == again.defects
        assert first.boxes("front") == again.boxes("front")
        assert all(
            np.array_equal(a, b) for a, b in zip(first.frames("side"), again.frames("side"), strict=True)
        )
    other = generate_episode(DemoSpec(**{**SMALL.__dict__, "seed": 4}), 6)
    assert not np.array_equal(
        other.arrays["observation.state"][:50], small_episodes[6].arrays["observation.state"][:50]
    )


def test_minimum_jerk_profile():
    s = np.linspace(0, 1, 1001)
    p = min_jerk(s)
    assert p[0] == 0 and p[-1] == 1 and p[500] == pytest.approx(0.5)
    v = np.gradient(p, s)
    assert abs(v[0]) < 1e-3 and abs(v[-1]) < 1e-3 and v.max() == pytest.approx(1.875, rel=1e-3)
    assert np.all(np.diff(p) >= 0)


def test_trajectories_are_consistent(small_episodes):
    for ep in small_episodes:
        a = ep.arrays
        n = ep.length
        assert SMALL.min_length <= n <= SMALL.max_length
        assert all(len(v) == n for v in a.values())
        state = a["observation.state"].astype(np.float64)
        if "nan_state" in kinds(ep):  # velocity keeps the true motion, which the command holds
            k = ep.defects[0]["from_frame"]
            state[k] = a["action"][k - 1, :7]
        expected = np.gradient(state, a["timestamp"], axis=0)
        assert np.allclose(a["observation.velocity"], expected, atol=1e-4)
        quat = a["observation.ee_pose"][:, 3:]
        assert np.allclose(np.linalg.norm(quat, axis=1), 1.0, atol=1e-5)
        grip = a["observation.gripper"]
        assert grip.min() >= 0 and grip.max() <= 1 and grip.max() > 0.6 and grip[0] == 0 and grip[-1] == 0
        assert set(np.unique(a["action"][:, 7])) == {0.0, 1.0}
        assert np.abs(np.diff(grip)).max() < 0.5  # the gripper moves over several frames, never jumps
        # the command is the next commanded state: only a measurement fault or a gap breaks this
        hits = np.flatnonzero(np.any(a["observation.state"][1:] != a["action"][:-1, :7], axis=1)) + 1
        d = ep.defects[0] if ep.defects else {"type": None}
        if d["type"] == "jitter":
            assert hits.size > 5 and hits.min() > d["from_frame"] and hits.max() < d["to_frame"]
        else:
            expected_hits = {
                "velocity_spike": [d.get("from_frame", 0) + 1],
                "dropped_frame": [d.get("to_frame")],
                "nan_state": [d.get("from_frame")],
            }.get(d["type"], [])
            assert hits.tolist() == expected_hits


def test_clean_motion_is_smooth_and_jitter_is_not(small_episodes):
    clean = [ep for ep in small_episodes if not ep.defects]
    jitter = next(ep for ep in small_episodes if kinds(ep) == ["jitter"])
    d = jitter.defects[0]
    inside = jitter.arrays["observation.state"][d["from_frame"] : d["to_frame"] + 1]
    assert d["to_frame"] - d["from_frame"] + 1 >= 12
    assert jerk_rms(inside) > 20 * max(jerk_rms(ep.arrays["observation.state"]) for ep in clean)
    # the added power sits at high frequency: most third-difference power above 10 Hz
    x = np.diff(inside.astype(np.float64), n=3, axis=0)
    power = np.abs(np.fft.rfft(x - x.mean(axis=0), axis=0)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SMALL.fps)
    assert power[freqs >= 10].sum() > 0.7 * power.sum()
    outside = np.r_[0 : d["from_frame"], d["to_frame"] + 1 : jitter.length]
    assert np.array_equal(
        jitter.arrays["observation.state"][outside[1:]], jitter.arrays["action"][outside[1:] - 1, :7]
    )


def check_defects(ep) -> None:
    """Each documented defect is present exactly where stated; clean episodes show none."""
    a, n, fps = ep.arrays, ep.length, ep.fps
    sp = speed(ep)
    z = (sp - sp.mean()) / sp.std()
    steps = np.diff(a["timestamp"])
    nan = np.argwhere(np.isnan(a["observation.state"]))
    runs = [r for r in low_speed_runs(sp) if r[0] > 0 and r[1] < n - 1 and r[1] - r[0] + 1 >= 15]
    for name, values in a.items():
        if name != "observation.state":
            assert np.all(np.isfinite(values)), name
    kind = kinds(ep)[0] if ep.defects else None
    d = ep.defects[0] if ep.defects else {}
    assert len(ep.defects) <= 1
    if kind == "velocity_spike":
        assert z[d["from_frame"]] > 3 and z[d["to_frame"]] > 3 and d["to_frame"] == d["from_frame"] + 2
        assert np.delete(z, [d["from_frame"], d["to_frame"]]).max() < 3
    else:
        assert z.max() < 3, kind
    if kind == "dropped_frame":
        assert d["to_frame"] == d["from_frame"] + 1
        assert steps[d["from_frame"]] == pytest.approx(2 / fps)
        assert np.allclose(np.delete(steps, d["from_frame"]), 1 / fps)
    else:
        assert np.allclose(steps, 1 / fps)
    assert a["timestamp"][0] == 0
    if kind == "nan_state":
        assert d["from_frame"] == d["to_frame"]
        assert sorted(map(tuple, nan.tolist())) == [(d["from_frame"], j) for j in d["joints"]]
    else:
        assert nan.size == 0
    if kind == "hesitation":
        lo, hi = d["from_frame"], d["to_frame"]
        assert 15 <= hi - lo + 1 <= 30 and runs == [(lo, hi)]
        assert sp[lo : hi + 1].max() < 0.01 and sp[lo - 1] >= 0.01 and sp[hi + 1] >= 0.01
        grip = a["observation.gripper"]
        assert np.ptp(grip[lo - 2 : hi + 3]) == 0  # not while the gripper moves
        assert sp[:lo].max() > 0.05 and sp[hi + 1 :].max() > 0.05  # mid-motion
    else:
        assert runs == []


def test_documented_defects_are_present_and_clean_episodes_are_clean(small_episodes):
    assert {kinds(ep)[0] for ep in small_episodes if ep.defects} == set(DEFECT_TYPES)
    for ep in small_episodes:
        check_defects(ep)


def test_defects_fit_in_the_shortest_episodes():
    eps = [generate_episode(SHORTEST, i) for i in range(SHORTEST.episodes)]
    assert sorted(kinds(ep)[0] for ep in eps) == sorted(DEFECT_TYPES)
    for ep in eps:
        assert ep.length == 40
        check_defects(ep)


def check_boxes(boxes: list[dict], width: int, height: int) -> None:
    for b in boxes:
        assert set(b) == {"frame", "track_id", "label", "x", "y", "width", "height", "truncated", "occluded"}
        assert b["width"] >= 1 and b["height"] >= 1 and b["x"] >= 0 and b["y"] >= 0
        assert b["x"] + b["width"] <= width and b["y"] + b["height"] <= height
        assert b["track_id"][:4] == {"pedestrian": "PED_", "cyclist": "CYC_"}[b["label"]]
        if b["truncated"]:
            assert (
                b["x"] == 0 or b["y"] == 0 or b["x"] + b["width"] == width or b["y"] + b["height"] == height
            )
    frames: dict[int, list[dict]] = {}
    for b in boxes:
        frames.setdefault(b["frame"], []).append(b)
    for group in frames.values():
        assert len({b["track_id"] for b in group}) == len(group)
        for b in group:
            if b["occluded"]:
                assert any(overlap(b, o) > 0 for o in group if o is not b)


def overlap(a: dict, b: dict) -> float:
    w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(w, 0) * max(h, 0)


def test_the_street_set_is_clean_and_named_for_its_scene(street_written):
    folder, summary = street_written
    info = json.loads((folder / "info.json").read_text())
    assert (info["name"], info["scene"]) == ("demo-street", "street") and summary["defects"] == {}
    assert json.loads((folder / "defects.json").read_text()) == {"episodes": {}}
    with pytest.raises(ValueError, match="scene"):
        DemoSpec(scene="kitchen")


def test_street_boxes_match_the_written_pixels(street_written):
    folder, _ = street_written
    flags = {"truncated": 0, "occluded": 0, "labels": set()}
    for index in (1, 3, 6):
        episode = generate_episode(STREET, index)
        doc = json.loads((folder / "ground_truth" / f"episode_{index:06d}.json").read_text())
        assert doc["episode_index"] == index and (doc["width"], doc["height"]) == (
            STREET.width,
            STREET.height,
        )
        assert doc["labels"] == ["pedestrian", "cyclist"] and set(doc["cameras"]) == set(STREET.cameras)
        with h5py.File(folder / "episodes" / f"episode_{index:06d}.hdf5", "r") as f:
            for camera, boxes in doc["cameras"].items():
                check_boxes(boxes, STREET.width, STREET.height)
                assert boxes, "the first actor always crosses the view"
                background = episode.scene.backgrounds[camera]
                video = f[f"observation.images.{camera}"][:]
                changed = np.any(video != background, axis=3)
                covered = np.zeros_like(changed)
                for b in boxes:
                    x, y, w, h = (int(b[k]) for k in ("x", "y", "width", "height"))
                    covered[b["frame"], y : y + h, x : x + w] = True
                    inside = changed[b["frame"], y : y + h, x : x + w]
                    # tight: every edge holds a drawn pixel, unless the image border cut the box there
                    cut = (
                        (x == 0, y == 0, x + w == STREET.width, y + h == STREET.height)
                        if b["truncated"]
                        else (False,) * 4
                    )
                    edges = (inside[:, 0], inside[0], inside[:, -1], inside[-1])
                    assert all(edge.any() or at_border for edge, at_border in zip(edges, cut, strict=True))
                    assert inside.any()
                    flags["truncated"] += b["truncated"]
                    flags["occluded"] += b["occluded"]
                    flags["labels"].add(b["label"])
                assert not np.any(changed & ~covered), "pixels changed outside every box"
    assert flags["truncated"] and flags["occluded"] and flags["labels"] == {"pedestrian", "cyclist"}


def test_files_follow_the_layout(written, small_episodes):
    folder, summary, calls = written
    assert calls == [(i, SMALL.episodes) for i in range(1, SMALL.episodes + 1)]
    info = json.loads((folder / "info.json").read_text())
    assert set(info) == INFO_KEYS
    assert info["total_episodes"] == SMALL.episodes == summary["episodes"]
    assert info["total_frames"] == sum(ep.length for ep in small_episodes) == summary["frames"]
    assert info["fps"] == 30.0 and info["robot_type"] == "7dof_arm" and info["cameras"] == ["front", "side"]
    assert info["joint_names"] == [f"joint_{i}" for i in range(1, 8)]
    assert [t["index"] for t in info["tasks"]] == [0, 1, 2] and all(t["description"] for t in info["tasks"])
    feats = info["features"]
    assert feats["observation.images.front"] == {"dtype": "uint8", "shape": [SMALL.height, SMALL.width, 3]}
    assert feats["action"]["names"][-1] == "gripper" and feats["observation.ee_pose"]["names"][3:] == [
        "qx",
        "qy",
        "qz",
        "qw",
    ]
    files = sorted(p.name for p in (folder / "episodes").iterdir())
    assert files == [f"episode_{i:06d}.hdf5" for i in range(SMALL.episodes)]
    for ep in small_episodes:
        with h5py.File(folder / "episodes" / f"episode_{ep.index:06d}.hdf5", "r") as f:
            assert set(f) == set(ARRAY_NAMES) | {f"observation.images.{c}" for c in SMALL.cameras}
            assert f.attrs["task_index"] == ep.task_index and 0 <= ep.task_index < 3
            for name, (dtype, tail) in ARRAY_NAMES.items():
                assert f[name].dtype == dtype and f[name].shape == (ep.length, *tail), name
                assert feats[name]["dtype"] == dtype and tuple(feats[name]["shape"]) == tail
                assert f[name][:].tobytes() == ep.arrays[name].tobytes()
            for camera in SMALL.cameras:
                d = f[f"observation.images.{camera}"]
                assert d.dtype == np.uint8 and d.shape == (ep.length, SMALL.height, SMALL.width, 3)
                assert d.chunks == (1, SMALL.height, SMALL.width, 3) and d.compression in ("gzip", "lzf")
    defects = json.loads((folder / "defects.json").read_text())["episodes"]
    assert defects == {str(ep.index): ep.defects for ep in small_episodes if ep.defects}
    assert summary["defects"] == {ep.index: kinds(ep) for ep in small_episodes if ep.defects}
    assert {d["type"] for records in defects.values() for d in records} == set(DEFECT_TYPES)


def test_writing_twice_gives_identical_files(tmp_path):
    spec = DemoSpec(episodes=2, min_length=40, max_length=50, width=32, height=24, seed=5)
    for name in ("a", "b"):
        write_demo_dataset(tmp_path / name, spec)
    for rel in ("info.json", "defects.json", "ground_truth/episode_000001.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    with (
        h5py.File(tmp_path / "a/episodes/episode_000001.hdf5") as a,
        h5py.File(tmp_path / "b/episodes/episode_000001.hdf5") as b,
    ):
        assert set(a) == set(b) and all(a[k][:].tobytes() == b[k][:].tobytes() for k in a)
        assert dict(a.attrs) == dict(b.attrs)


KILL_SCRIPT = """
import os, sys
from pathlib import Path
from domain.datasets.demo import DemoSpec, write_demo_dataset
from domain.datasets.demo import workspace_frames
real, calls = workspace_frames.render, [0]
def dying(*args, **kwargs):
    calls[0] += 1
    if calls[0] == {limit}:
        os._exit(3)  # the process dies mid-episode: no cleanup runs
    return real(*args, **kwargs)
workspace_frames.render = dying
write_demo_dataset(Path(sys.argv[1]), DemoSpec(episodes=3, min_length=40, max_length=40, width=32, height=24))
"""


def complete_episodes(folder: Path) -> list[str]:
    names = []
    for path in sorted((folder / "episodes").glob("episode_*.hdf5")):
        with h5py.File(path, "r") as f:
            assert f["observation.images.side"].shape[0] == f["timestamp"].shape[0] == 40
        names.append(path.name)
    return names


def test_a_killed_write_leaves_no_incomplete_episode_file(tmp_path):
    # 2 cameras x 40 frames per episode: call 100 is in the middle of episode 1's first camera
    script = textwrap.dedent(KILL_SCRIPT).replace("{limit}", "100")
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=root, capture_output=True)
    assert result.returncode == 3, result.stderr.decode()
    assert complete_episodes(tmp_path) == ["episode_000000.hdf5"]
    assert (tmp_path / "episodes" / "episode_000001.hdf5.partial").exists()
    assert not (tmp_path / "info.json").exists()
    summary = write_demo_dataset(
        tmp_path, DemoSpec(episodes=3, min_length=40, max_length=40, width=32, height=24)
    )
    assert summary["frames"] == 120 and (tmp_path / "info.json").exists()
    assert complete_episodes(tmp_path) == [f"episode_{i:06d}.hdf5" for i in range(3)]
    assert sorted(p.name for p in (tmp_path / "episodes").iterdir()) == complete_episodes(tmp_path)


def test_a_failed_write_cleans_up_and_a_rewrite_drops_stale_files(tmp_path, monkeypatch):
    spec = DemoSpec(episodes=2, min_length=40, max_length=40, width=32, height=24)
    write_demo_dataset(tmp_path, DemoSpec(episodes=3, min_length=40, max_length=40, width=32, height=24))
    real, calls = episode_module.workspace_frames.render, [0]

    def failing(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 100:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(episode_module.workspace_frames, "render", failing)
    with pytest.raises(RuntimeError):
        write_demo_dataset(tmp_path, spec)
    assert not (tmp_path / "info.json").exists()  # the old dataset is no longer marked complete
    assert not list(tmp_path.rglob("*.partial"))
    # episode 0 is new, episode 1 still the old complete one, episode 2 (beyond the new size) gone
    assert complete_episodes(tmp_path) == ["episode_000000.hdf5", "episode_000001.hdf5"]
    monkeypatch.undo()
    write_demo_dataset(tmp_path, spec)
    assert complete_episodes(tmp_path) == ["episode_000000.hdf5", "episode_000001.hdf5"]
    assert sorted(p.name for p in (tmp_path / "ground_truth").iterdir()) == [
        "episode_000000.json",
        "episode_000001.json",
    ]
