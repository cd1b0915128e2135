"""ALOHA reader: the ACT-written sample (tests/samples/aloha_sim_insertion), JPEG-compressed and Mobile
ALOHA files from tests/samples_aloha.py, and broken copies. Reference values are h5py's direct reads
and Pillow's decoding of the stored JPEG bytes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from persistence.episode_sources import aloha
from persistence.episode_sources.base import FrameRequestError, SourceError, make_ref
from tests import samples_aloha

SAMPLE = Path(__file__).parents[1] / "samples" / "aloha_sim_insertion"
ACT_NAMES = [
    f"{side}_{joint}"
    for side in ("left", "right")
    for joint in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")
]


# Mean absolute difference a JPEG at quality 50 leaves on the generator's frames (measured 1.2 to 4.4 levels,
# the small frames worst); swapping red and blue would leave about 60.
JPEG_TOLERANCE = 5.0


def jpeg_error(got: np.ndarray, original: np.ndarray) -> float:
    return float(np.abs(got.astype(int) - original.astype(int)).mean())


def open_scanned(root: Path, scan, position: int = 0) -> aloha.AlohaEpisode:
    episode = scan.episodes[position]
    return aloha.open_episode(make_ref(aloha.FORMAT, str(root), episode.file, episode.locator), None)


def copy_sample(tmp_path: Path, names: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "aloha"
    folder.mkdir()
    for source, target in (names or {f"episode_{i}.hdf5": f"episode_{i}.hdf5" for i in range(3)}).items():
        shutil.copyfile(SAMPLE / source, folder / target)  # copyfile: the samples are read-only
    return folder


def source_error(call, where: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        call()
    assert info.value.where == where, info.value
    return info.value


def test_detect() -> None:
    assert aloha.detect(SAMPLE)
    assert aloha.detect(SAMPLE / "episode_1.hdf5")
    assert not aloha.detect(SAMPLE.parent / "robomimic_lift" / "image.hdf5")
    assert not aloha.detect(SAMPLE.parent / "lerobot_v30_sample")
    assert not aloha.detect(SAMPLE / "missing.hdf5")


def test_scan_sample() -> None:
    scan = aloha.scan(SAMPLE, aloha.Options())
    assert scan.format == "ALOHA" and scan.name == "aloha_sim_insertion" and scan.fps == 50.0
    assert [e.index for e in scan.episodes] == [0, 1, 2]
    assert [e.file for e in scan.episodes] == ["episode_0.hdf5", "episode_1.hdf5", "episode_2.hdf5"]
    for episode in scan.episodes:
        with h5py.File(SAMPLE / episode.file) as f:
            length = f["/observations/qpos"].shape[0]
            top = f["/observations/images/top"].shape
        assert episode.length == length
        assert episode.duration == pytest.approx(length / 50)
        assert episode.cameras == {"top": [top[0], top[1], top[2]]}
        assert episode.missing == ["observation.ee_pose"]
        assert episode.file_size == (SAMPLE / episode.file).stat().st_size
    assert scan.cameras == ["top"]
    assert scan.joint_names == ACT_NAMES
    assert scan.robot_type == "aloha" and scan.features["sim"] is True
    mapped = {(m.source, m.target) for m in scan.mapping}
    assert {
        ("/observations/qpos", "observation.state"),
        ("/observations/qpos", "observation.gripper"),
        ("/observations/qvel", "observation.velocity"),
        ("/action", "action"),
        ("/observations/images/top", "camera:top"),
        ("/.attrs[sim]", None),
    } == mapped


def test_arrays_equal_h5py() -> None:
    scan = aloha.scan(SAMPLE, aloha.Options())
    reader = open_scanned(SAMPLE, scan, 1)
    try:
        names = ["timestamp", "action", "observation.state", "observation.velocity", "observation.gripper"]
        got = reader.arrays([*names, "observation.ee_pose", "task_index"], slice(2, 11))
        assert sorted(got) == sorted(names)
        with h5py.File(SAMPLE / "episode_1.hdf5") as f:
            qpos = f["/observations/qpos"][2:11]
            np.testing.assert_array_equal(got["observation.state"], qpos)
            np.testing.assert_array_equal(got["observation.velocity"], f["/observations/qvel"][2:11])
            np.testing.assert_array_equal(got["action"], f["/action"][2:11])
        np.testing.assert_array_equal(got["observation.gripper"], qpos[:, [6, 13]])
        np.testing.assert_allclose(got["timestamp"], np.arange(2, 11) / 50.0)
        assert got["timestamp"].dtype == np.float64
        backwards = reader.arrays(["action"], slice(None, None, -1))["action"]
        with h5py.File(SAMPLE / "episode_1.hdf5") as f:
            np.testing.assert_array_equal(backwards, f["/action"][()][::-1])
    finally:
        reader.close()


def test_frames_equal_raw_datasets() -> None:
    scan = aloha.scan(SAMPLE, aloha.Options())
    reader = open_scanned(SAMPLE, scan, 2)
    try:
        assert reader.length == 16 and reader.cameras() == {"top": (16, 480, 640)}
        frames = reader.frames("top", [15, 0, 7, 0])
        with h5py.File(SAMPLE / "episode_2.hdf5") as f:
            for got, index in zip(frames, [15, 0, 7, 0], strict=True):
                assert got.dtype == np.uint8 and got.shape == (480, 640, 3)
                np.testing.assert_array_equal(got, f["/observations/images/top"][index])
        with pytest.raises(FrameRequestError) as info:
            reader.frames("left_wrist", [0])
        assert info.value.what == "camera"
        with pytest.raises(FrameRequestError) as info:
            reader.frames("top", [16])
        assert info.value.what == "frames"
    finally:
        reader.close()


def test_single_file_and_options(tmp_path: Path) -> None:
    file = SAMPLE / "episode_2.hdf5"
    scan = aloha.scan(
        file, aloha.Options(fps=25, gripper_indexes=[], joint_names=[f"j{i}" for i in range(14)])
    )
    assert [(e.index, e.file) for e in scan.episodes] == [(2, "")]
    assert scan.name == "episode_2" and scan.joint_names == [f"j{i}" for i in range(14)]
    episode = scan.episodes[0]
    assert episode.duration == pytest.approx(16 / 25)
    assert "observation.gripper" in episode.missing
    reader = open_scanned(file, scan)
    try:
        got = reader.arrays(["timestamp", "observation.gripper"], slice(0, 4))
        assert list(got) == ["timestamp"]
        np.testing.assert_allclose(got["timestamp"], [0, 0.04, 0.08, 0.12])
    finally:
        reader.close()
    source_error(lambda: aloha.scan(file, aloha.Options(joint_names=["a", "b"])), "/observations/qpos")
    source_error(lambda: aloha.scan(file, aloha.Options(gripper_indexes=[14])), "/observations/qpos")


def test_numeric_order(tmp_path: Path) -> None:
    names = {
        "episode_0.hdf5": "episode_10.hdf5",
        "episode_1.hdf5": "episode_9.hdf5",
        "episode_2.hdf5": "episode_2.hdf5",
    }
    folder = copy_sample(tmp_path, names)
    scan = aloha.scan(folder, aloha.Options())
    assert [(e.index, e.file) for e in scan.episodes] == [
        (2, "episode_2.hdf5"),
        (9, "episode_9.hdf5"),
        (10, "episode_10.hdf5"),
    ]


def test_previous_reuses_unchanged_files(tmp_path: Path) -> None:
    folder = copy_sample(tmp_path)
    first = aloha.scan(folder, aloha.Options())
    progress: list[float] = []
    again = aloha.scan(
        folder, aloha.Options(), {e.file: e for e in first.episodes}, lambda f, _m: progress.append(f)
    )
    # The first file is always read (it describes the dataset); the others are the previous objects.
    assert again.episodes[0] is not first.episodes[0] and again.episodes[0] == first.episodes[0]
    assert again.episodes[1] is first.episodes[1] and again.episodes[2] is first.episodes[2]
    assert progress[-1] == 1.0
    # A changed file is read again; so is every file when an option the episodes depend on changes.
    with h5py.File(folder / "episode_2.hdf5", "r+") as f:
        f.attrs["note"] = "edited"
    changed = aloha.scan(folder, aloha.Options(), {e.file: e for e in first.episodes})
    assert changed.episodes[1] is first.episodes[1] and changed.episodes[2] is not first.episodes[2]
    assert ("/.attrs[note]", None) in {(m.source, m.target) for m in changed.mapping}
    slower = aloha.scan(folder, aloha.Options(fps=10), {e.file: e for e in first.episodes})
    assert all(e is not o for e, o in zip(slower.episodes, first.episodes, strict=True))
    assert slower.episodes[1].duration == pytest.approx(16 / 10)


def test_jpeg_mobile_aloha(tmp_path: Path) -> None:
    cameras = ("cam_high", "cam_left_wrist", "cam_right_wrist")
    files = samples_aloha.write_dataset(
        tmp_path / "mobile",
        episodes=2,
        length=12,
        cameras=cameras,
        height=96,
        width=128,
        compress=True,
        mobile=True,
    )
    scan = aloha.scan(tmp_path / "mobile", aloha.Options())
    assert scan.robot_type == "mobile_aloha" and scan.cameras == list(cameras)
    assert scan.episodes[1].cameras == {c: [12, 96, 128] for c in cameras}
    assert scan.features["cameras"]["cam_high"]["encoding"] == "jpeg"
    unmapped = {m.source for m in scan.mapping if m.target is None}
    assert {
        "/observations/effort",
        "/base_action",
        "/compress_len",
        "/.attrs[compress]",
        "/.attrs[sim]",
    } <= unmapped
    assert ("/observations/images/cam_left_wrist", "camera:cam_left_wrist") in {
        (m.source, m.target) for m in scan.mapping
    }
    reader = open_scanned(tmp_path / "mobile", scan, 1)
    try:
        indices = [11, 0, 5]
        for c, camera in enumerate(cameras):
            frames = reader.frames(camera, indices)
            with h5py.File(files[1]) as f:
                lens = f["/compress_len"][c].astype(int)
                for got, index in zip(frames, indices, strict=True):
                    raw = f[f"/observations/images/{camera}"][index, : lens[index]].tobytes()
                    pillow = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
                    # The JPEGs hold red and blue swapped (cv2.imencode of RGB frames): swapped back.
                    np.testing.assert_array_equal(got, pillow[..., ::-1])
                    original = samples_aloha.frame_pixels(1, c, index, 96, 128)
                    assert jpeg_error(got, original) < JPEG_TOLERANCE < jpeg_error(got[..., ::-1], original)
        with h5py.File(files[1]) as f:
            np.testing.assert_array_equal(reader.arrays(["action"], slice(0, 12))["action"], f["/action"][()])
    finally:
        reader.close()


def test_jpeg_without_swap_and_per_camera_lengths(tmp_path: Path) -> None:
    file = samples_aloha.write_episode(
        tmp_path / "episode_4.hdf5", 4, 6, ("top",), 48, 64, compress=True, swap_red_blue=False
    )
    # Some writers keep the byte counts on the camera dataset instead of /compress_len.
    with h5py.File(file, "r+") as f:
        lens = f["/compress_len"][0]
        del f["/compress_len"]
        f["/observations/images/top"].attrs["compress_len"] = lens.astype(np.int64)
    scan = aloha.scan(file, aloha.Options(jpeg_swap_red_blue=False))
    reader = open_scanned(file, scan)
    try:
        got = reader.frames("top", [3])[0]
        original = samples_aloha.frame_pixels(4, 0, 3, 48, 64)
        assert jpeg_error(got, original) < JPEG_TOLERANCE < jpeg_error(got[..., ::-1], original)
    finally:
        reader.close()


def test_generated_raw_dataset(tmp_path: Path) -> None:
    samples_aloha.write_dataset(
        tmp_path / "sim", episodes=11, length=20, cameras=("top", "left_wrist"), height=60, width=80
    )
    scan = aloha.scan(tmp_path / "sim", aloha.Options())
    assert [e.index for e in scan.episodes] == list(range(11))
    assert all(
        e.length == 20 and e.cameras == {"top": [20, 60, 80], "left_wrist": [20, 60, 80]}
        for e in scan.episodes
    )
    reader = open_scanned(tmp_path / "sim", scan, 10)
    try:
        for got, index in zip(reader.frames("left_wrist", [19, 4]), [19, 4], strict=True):
            np.testing.assert_array_equal(got, samples_aloha.frame_pixels(10, 1, index, 60, 80))
        np.testing.assert_allclose(
            reader.arrays(["observation.state"], slice(0, 20))["observation.state"],
            samples_aloha.trajectory(10, 20),
            rtol=1e-6,
        )
    finally:
        reader.close()


def test_broken_jpeg_frames(tmp_path: Path) -> None:
    file = samples_aloha.write_episode(
        tmp_path / "episode_0.hdf5", 0, 6, ("cam_high",), 48, 64, compress=True
    )
    with h5py.File(file, "r+") as f:
        f["/observations/images/cam_high"][2] = 0  # frame 2 is no JPEG any more
        f["/compress_len"][0, 4] = 40  # frame 4 is cut after its first 40 bytes
    scan = aloha.scan(file, aloha.Options())
    reader = open_scanned(file, scan)
    try:
        assert reader.frames("cam_high", [1])[0].shape == (48, 64, 3)
        for index in (2, 4):
            error = source_error(
                lambda i=index: reader.frames("cam_high", [i]), "/observations/images/cam_high"
            )
            assert error.path == str(file) and f"frame {index}" in error.problem
    finally:
        reader.close()


def edit(folder: Path, change) -> None:
    with h5py.File(folder / "episode_1.hdf5", "r+") as f:
        change(f)


def regroup(f: h5py.File, name: str) -> None:
    if name in f:
        del f[name]
    f.create_group(name)


def shorten_camera(f: h5py.File) -> None:
    frames = f["/observations/images/top"][:10]
    del f["/observations/images/top"]
    f["/observations/images/top"] = frames


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda f: regroup(f, "/observations/qpos"), "/observations/qpos"),
        (lambda f: regroup(f, "/action"), "/action"),
        (lambda f: regroup(f, "/observations/images/top"), "/observations/images/top"),
        (shorten_camera, "/observations/images/top"),
        (lambda f: f.attrs.__setitem__("sim", "yes"), "/.attrs[sim]"),
        (lambda f: f.attrs.__setitem__("compress", 2), "/.attrs[compress]"),
        (lambda f: regroup(f, "/observations/effort"), "/observations/effort"),
    ],
)
def test_broken_files(tmp_path: Path, change, where: str) -> None:
    folder = copy_sample(tmp_path)
    edit(folder, change)
    error = source_error(lambda: aloha.scan(folder, aloha.Options()), where)
    assert error.path == "episode_1.hdf5"
    # Opening the episode directly finds the same fault, naming the file by its full path.
    ref = make_ref("ALOHA", str(folder), "episode_1.hdf5", {})
    assert source_error(lambda: aloha.open_episode(ref, None), where).path == str(folder / "episode_1.hdf5")


def test_unknown_datasets_and_attributes_are_listed(tmp_path: Path) -> None:
    folder = copy_sample(tmp_path)
    with h5py.File(folder / "episode_0.hdf5", "r+") as f:
        f["/observations/extra"] = np.zeros((16, 3), np.float32)
        f["/observations/images/top_depth"] = np.zeros((16, 8, 8), np.uint16)
        f["/observations/qpos"].attrs["units"] = "rad"
    scan = aloha.scan(folder, aloha.Options())
    listed = {m.source: m for m in scan.mapping if m.target is None}
    assert listed["/observations/extra"].shape == [3] and listed["/observations/extra"].dtype == "float32"
    assert "depth" in listed["/observations/images/top_depth"].note
    assert "/observations/qpos.attrs[units]" in listed
    assert scan.cameras == ["top"]


def test_broken_action_rows_and_state_less_file(tmp_path: Path) -> None:
    folder = copy_sample(tmp_path)

    def short_action(f: h5py.File) -> None:
        action = f["/action"][:12]
        del f["/action"]
        f["/action"] = action

    edit(folder, short_action)
    assert "16 frames" in source_error(lambda: aloha.scan(folder, aloha.Options()), "/action").problem
    edit(folder, lambda f: [f.__delitem__("/action"), f.__delitem__("/observations/qpos")])
    source_error(lambda: aloha.scan(folder, aloha.Options()), "/observations/qpos")


def test_not_hdf5_truncated_and_empty(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    source_error(lambda: aloha.scan(folder, aloha.Options()), "")
    (folder / "episode_0.hdf5").write_text("not an HDF5 file")
    error = source_error(lambda: aloha.scan(folder, aloha.Options()), "")
    assert error.path == "episode_0.hdf5" and "HDF5" in error.problem
    data = (SAMPLE / "episode_0.hdf5").read_bytes()
    (folder / "episode_0.hdf5").write_bytes(data[: len(data) // 3])
    error = source_error(lambda: aloha.scan(folder, aloha.Options()), "")
    assert error.path == "episode_0.hdf5"
    (folder / "episode_0.hdf5").unlink()
    (folder / "episode_x.hdf5").write_bytes(data)
    assert source_error(lambda: aloha.scan(folder, aloha.Options()), "").path == "episode_x.hdf5"
