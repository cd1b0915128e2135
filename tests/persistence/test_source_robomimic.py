"""robomimic reader: the sample file (tests/samples/robomimic_lift/image.hdf5), larger files from
tests/samples_robomimic.py, and broken copies. Reference values are h5py's direct reads, taken the way
robomimic's SequenceDataset takes them (demos sorted by number, `num_samples` rows)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from persistence.episode_sources import robomimic
from persistence.episode_sources.base import FrameRequestError, SourceError, make_ref
from tests import samples_robomimic

SAMPLE = Path(__file__).parents[1] / "samples" / "robomimic_lift" / "image.hdf5"
ALL = [
    "timestamp",
    "action",
    "observation.state",
    "observation.velocity",
    "observation.ee_pose",
    "observation.gripper",
    "task_index",
]


def open_scanned(root: Path, scan, position: int) -> robomimic.RobomimicEpisode:
    episode = scan.episodes[position]
    return robomimic.open_episode(make_ref(robomimic.FORMAT, str(root), episode.file, episode.locator), None)


def copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "lift.hdf5"
    shutil.copyfile(SAMPLE, target)  # copyfile: the sample is read-only
    return target


def source_error(call, where: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        call()
    assert info.value.where == where, info.value
    return info.value


def test_detect(tmp_path: Path) -> None:
    assert robomimic.detect(SAMPLE)
    assert robomimic.detect(SAMPLE.parent)
    assert not robomimic.detect(SAMPLE.parents[1] / "aloha_sim_insertion")
    assert not robomimic.detect(SAMPLE.parents[1] / "aloha_sim_insertion" / "episode_0.hdf5")
    assert not robomimic.detect(tmp_path)
    # Two robomimic files in one folder: which one is meant is unclear, so neither detection nor a scan
    # picks one.
    shutil.copyfile(SAMPLE, tmp_path / "image.hdf5")
    shutil.copyfile(SAMPLE, tmp_path / "low_dim.hdf5")
    assert not robomimic.detect(tmp_path)
    assert "register one" in source_error(lambda: robomimic.scan(tmp_path, robomimic.Options()), "").problem


def test_scan_sample() -> None:
    scan = robomimic.scan(SAMPLE, robomimic.Options())
    assert scan.format == "ROBOMIMIC" and scan.name == "Lift" and scan.robot_type == "Panda"
    assert scan.fps == 20.0  # env_kwargs.control_freq
    with h5py.File(SAMPLE) as f:
        counts = [int(f[f"data/demo_{k}"].attrs["num_samples"]) for k in range(3)]
        env_args = json.loads(f["data"].attrs["env_args"])
    assert [e.index for e in scan.episodes] == [0, 1, 2]
    assert [e.length for e in scan.episodes] == counts
    for episode, count in zip(scan.episodes, counts, strict=True):
        assert episode.file == "" and episode.locator["group"] == f"data/demo_{episode.index}"
        assert episode.duration == pytest.approx(count / 20)
        assert episode.cameras == {"agentview": [count, 84, 84], "robot0_eye_in_hand": [count, 84, 84]}
        assert episode.missing == [] and episode.task_indexes == [0]
        assert episode.file_size == SAMPLE.stat().st_size
    assert scan.cameras == ["agentview", "robot0_eye_in_hand"]
    assert scan.joint_names == [f"joint_{i}" for i in range(7)]
    assert scan.tasks == [(0, "Lift")]
    assert scan.features["env_args"] == env_args and scan.features["total"] == sum(counts)
    assert scan.features["filter_keys"] == {"train": ["demo_0", "demo_1"], "valid": ["demo_2"]}
    targets = {m.source: m.target for m in scan.mapping if m.target}
    assert targets["/data/demo_*/obs/robot0_joint_pos"] == "observation.state"
    assert targets["/data/demo_*/obs/robot0_eef_quat"] == "observation.ee_pose"
    assert targets["/data/demo_*/obs/agentview_image"] == "camera:agentview"
    unmapped = {m.source for m in scan.mapping if m.target is None}
    assert {
        "/data/demo_*/states",
        "/data/demo_*/rewards",
        "/data/demo_*/dones",
        "/data/demo_*/obs/object",
        "/data/demo_*/next_obs/agentview_image",
        "/data/demo_*/next_obs/robot0_joint_pos",
        "/data/demo_*.attrs[model_file]",
        "/data.attrs[total]",
        "/mask/train",
        "/mask/valid",
    } <= unmapped


def test_arrays_equal_h5py() -> None:
    scan = robomimic.scan(SAMPLE, robomimic.Options())
    reader = open_scanned(SAMPLE, scan, 1)
    try:
        got = reader.arrays(ALL, slice(5, 30))
        assert sorted(got) == sorted(ALL)
        with h5py.File(SAMPLE) as f:
            demo = f["data/demo_1"]
            obs = demo["obs"]
            np.testing.assert_array_equal(got["action"], demo["actions"][5:30])
            np.testing.assert_array_equal(got["observation.state"], obs["robot0_joint_pos"][5:30])
            np.testing.assert_array_equal(got["observation.velocity"], obs["robot0_joint_vel"][5:30])
            np.testing.assert_array_equal(got["observation.gripper"], obs["robot0_gripper_qpos"][5:30])
            pose = np.concatenate([obs["robot0_eef_pos"][5:30], obs["robot0_eef_quat"][5:30]], axis=1)
            np.testing.assert_array_equal(got["observation.ee_pose"], pose)
        np.testing.assert_allclose(got["timestamp"], np.arange(5, 30) / 20.0)
        np.testing.assert_array_equal(got["task_index"], np.zeros(25, np.int64))
        assert reader.length == 52
    finally:
        reader.close()


def test_frames_equal_raw_datasets() -> None:
    scan = robomimic.scan(SAMPLE, robomimic.Options())
    reader = open_scanned(SAMPLE, scan, 2)
    try:
        assert reader.cameras() == {"agentview": (38, 84, 84), "robot0_eye_in_hand": (38, 84, 84)}
        indices = [37, 0, 12, 12]
        with h5py.File(SAMPLE) as f:
            for camera in ("agentview", "robot0_eye_in_hand"):
                raw = f[f"data/demo_2/obs/{camera}_image"]
                for got, index in zip(reader.frames(camera, indices), indices, strict=True):
                    assert got.shape == (84, 84, 3) and got.dtype == np.uint8
                    np.testing.assert_array_equal(got, raw[index])
        with pytest.raises(FrameRequestError) as info:
            reader.frames("frontview", [0])
        assert info.value.what == "camera"
        with pytest.raises(FrameRequestError) as info:
            reader.frames("agentview", [38])
        assert info.value.what == "frames"
    finally:
        reader.close()


def test_folder_registration_and_options() -> None:
    scan = robomimic.scan(SAMPLE.parent, robomimic.Options(fps=10))
    assert [e.file for e in scan.episodes] == ["image.hdf5"] * 3
    assert scan.fps == 10 and scan.episodes[0].duration == pytest.approx(45 / 10)
    reader = open_scanned(SAMPLE.parent, scan, 0)
    try:
        np.testing.assert_allclose(reader.arrays(["timestamp"], slice(0, 3))["timestamp"], [0, 0.1, 0.2])
    finally:
        reader.close()
    # Another robot's keys: this file has none, so its state, velocity, pose and gripper are missing.
    other = robomimic.scan(SAMPLE, robomimic.Options(robot="robot1"))
    assert other.episodes[0].missing == [
        "observation.state",
        "observation.velocity",
        "observation.ee_pose",
        "observation.gripper",
    ]
    assert other.joint_names == []
    reader = open_scanned(SAMPLE, other, 0)
    try:
        assert sorted(reader.arrays(ALL, slice(0, 4))) == ["action", "task_index", "timestamp"]
    finally:
        reader.close()


def test_generated_dataset_in_numeric_order(tmp_path: Path) -> None:
    lengths = [20 + 3 * k for k in range(12)]
    file = samples_robomimic.write_dataset(
        tmp_path / "can.hdf5", demos=12, length=lengths, env_name="PickPlaceCan"
    )
    scan = robomimic.scan(file, robomimic.Options())
    # h5py lists demo_0, demo_1, demo_10, demo_11, demo_2, ...: episodes come in numeric order.
    assert [e.index for e in scan.episodes] == list(range(12))
    assert [e.length for e in scan.episodes] == lengths
    assert scan.name == "PickPlaceCan" and scan.tasks == [(0, "PickPlaceCan")]
    assert scan.features["filter_keys"]["valid"] == ["demo_9"]
    reader = open_scanned(file, scan, 10)
    try:
        for got, index in zip(reader.frames("robot0_eye_in_hand", [49, 3]), [49, 3], strict=True):
            np.testing.assert_array_equal(got, samples_robomimic.image(10, 1, index, 84, 84))
        obs = samples_robomimic.observations(10, lengths[10], ["agentview"], 84, 84)
        got = reader.arrays(["observation.state", "observation.ee_pose"], slice(None))
        np.testing.assert_array_equal(got["observation.state"], obs["robot0_joint_pos"][:-1])
        pose = np.concatenate([obs["robot0_eef_pos"], obs["robot0_eef_quat"]], axis=1)[:-1]
        np.testing.assert_array_equal(got["observation.ee_pose"], pose)
    finally:
        reader.close()


def test_state_less_and_language_tasks(tmp_path: Path) -> None:
    file = samples_robomimic.write_dataset(
        tmp_path / "kitchen.hdf5", demos=3, length=10, cameras=("agentview",)
    )
    with h5py.File(file, "r+") as f:
        del f["data/demo_1/obs/robot0_joint_pos"]
        del f["data/demo_2/obs/robot0_eef_quat"]
        f["data/demo_0"].attrs["ep_meta"] = json.dumps({"lang": "open the drawer"})
        f["data/demo_2"].attrs["ep_meta"] = json.dumps({"lang": "open the drawer"})
    scan = robomimic.scan(file, robomimic.Options())
    assert scan.tasks == [(0, "open the drawer"), (1, "Lift")]
    assert [e.task_indexes for e in scan.episodes] == [[0], [1], [0]]
    assert scan.episodes[1].missing == ["observation.state"]
    assert scan.episodes[2].missing == ["observation.ee_pose"]
    notes = {m.source: m.note for m in scan.mapping if m.target is None}
    assert "other half" in notes["/data/demo_*/obs/robot0_eef_pos"]
    reader = open_scanned(file, scan, 2)
    try:
        got = reader.arrays(ALL, slice(0, 10))
        assert "observation.ee_pose" not in got and "observation.state" in got
        np.testing.assert_array_equal(got["task_index"], np.zeros(10, np.int64))
    finally:
        reader.close()


def replace(f: h5py.File, name: str, value) -> None:
    del f[name]
    if value is None:
        f.create_group(name)
    else:
        f[name] = value


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda f: f["data"].attrs.__setitem__("env_args", 7), "/data.attrs[env_args]"),
        (lambda f: f["data"].attrs.__setitem__("env_args", "{not json"), "/data.attrs[env_args]"),
        (lambda f: f["data"].attrs.__setitem__("env_args", "[1, 2]"), "/data.attrs[env_args]"),
        (
            lambda f: f["data/demo_0"].attrs.__setitem__("num_samples", "45"),
            "/data/demo_0.attrs[num_samples]",
        ),
        (lambda f: f["data"].attrs.__setitem__("total", 1.5), "/data.attrs[total]"),
        (lambda f: replace(f, "data/demo_0/obs/robot0_joint_pos", None), "/data/demo_0/obs/robot0_joint_pos"),
        (lambda f: replace(f, "data/demo_2/actions", None), "/data/demo_2/actions"),
        (lambda f: replace(f, "data/demo_1/actions", np.zeros((51, 7))), "/data/demo_1/actions"),
        (
            lambda f: replace(
                f, "data/demo_1/obs/agentview_image", f["data/demo_1/obs/agentview_image"][:40]
            ),
            "/data/demo_1/obs/agentview_image",
        ),
        (
            lambda f: replace(f, "data/demo_1/obs/agentview_image", np.zeros((52, 84, 84), np.uint8)),
            "/data/demo_1/obs/agentview_image",
        ),
        (
            lambda f: replace(f, "data/demo_0/obs/robot0_eef_pos", np.zeros((45, 4))),
            "/data/demo_0/obs/robot0_eef_pos",
        ),
        (lambda f: replace(f, "data/demo_2", np.zeros(3)), "/data/demo_2"),
        (lambda f: replace(f, "mask/train", np.zeros(2)), "/mask/train"),
    ],
)
def test_broken_files(tmp_path: Path, change, where: str) -> None:
    file = copy_sample(tmp_path)
    with h5py.File(file, "r+") as f:
        change(f)
    error = source_error(lambda: robomimic.scan(file, robomimic.Options()), where)
    assert error.path == "lift.hdf5"


def test_broken_demo_found_when_opened(tmp_path: Path) -> None:
    file = copy_sample(tmp_path)
    scan = robomimic.scan(file, robomimic.Options())
    with h5py.File(file, "r+") as f:
        replace(f, "data/demo_1/obs/robot0_joint_vel", None)
    ref = make_ref("ROBOMIMIC", str(file), "", scan.episodes[1].locator)
    error = source_error(lambda: robomimic.open_episode(ref, None), "/data/demo_1/obs/robot0_joint_vel")
    assert error.path == str(file)
    gone = make_ref("ROBOMIMIC", str(file), "", {"group": "data/demo_7"})
    source_error(lambda: robomimic.open_episode(gone, None), "/data/demo_7")


def test_no_demos_not_hdf5_truncated(tmp_path: Path) -> None:
    file = tmp_path / "empty.hdf5"
    with h5py.File(file, "w") as f:
        f.create_group("data").attrs["env_args"] = json.dumps({"env_name": "Lift"})
    source_error(lambda: robomimic.scan(file, robomimic.Options()), "/data")
    with h5py.File(file, "w") as f:
        f["other"] = np.zeros(3)
    source_error(lambda: robomimic.scan(file, robomimic.Options()), "/data")
    file.write_text("not an HDF5 file")
    assert "HDF5" in source_error(lambda: robomimic.scan(file, robomimic.Options()), "").problem
    data = SAMPLE.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    assert source_error(lambda: robomimic.scan(file, robomimic.Options()), "").path == "empty.hdf5"
    source_error(lambda: robomimic.scan(tmp_path / "nothing_here", robomimic.Options()), "")
