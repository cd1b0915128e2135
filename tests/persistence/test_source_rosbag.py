"""The ROSBAG reader against tests/samples/rosbag2_mcap (written by rosbags) and bags written by
tests/samples_rosbag.py (ROS 1, rosbag2 sqlite3 and mcap). References are computed here from rosbags'
AnyReader with the simplest resampling: for each tick, the last message at or before it (else the
first); for each frame, the nearest camera message (the earlier on a tie)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pydantic
import pytest
from PIL import Image
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

from persistence.episode_sources import mcap as mcap_source
from persistence.episode_sources import rosbag
from persistence.episode_sources.base import FrameRequestError, SourceError, make_ref
from persistence.episode_sources.ros_streams import (
    camera_names,
    hold,
    nearest,
    raw_image_rgb,
)
from tests.samples_rosbag import write_bag, write_dataset

SAMPLE = Path(__file__).parents[1] / "samples" / "rosbag2_mcap"
FRONT = "/camera/front/image_raw/compressed"
WRIST = "/camera/wrist/image_raw"
NAMES = [
    "timestamp",
    "observation.state",
    "observation.velocity",
    "observation.gripper",
    "action",
    "task_index",
]


def reader_for(path: Path, scan, episode: int = 0):
    e = scan.episodes[episode]
    return rosbag.open_episode(make_ref(rosbag.FORMAT, str(path), e.file, e.locator), None)


def reference(bag: Path) -> dict[str, list[tuple[int, object]]]:
    """topic -> [(time ns, message)] sorted by time: header.stamp when the message has a non-zero one,
    else the log time (what the reader promises), read and deserialised with AnyReader."""
    out: dict[str, list[tuple[int, object]]] = {}
    with AnyReader([bag]) as reader:
        for connection, log, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            header = getattr(msg, "header", None)
            stamp = header.stamp.sec * 10**9 + header.stamp.nanosec if header else 0
            out.setdefault(connection.topic, []).append((stamp or log, msg))
    return {topic: sorted(messages, key=lambda m: m[0]) for topic, messages in out.items()}


def held(messages: list[tuple[int, object]], tick: int) -> object:
    before = [m for t, m in messages if t <= tick]
    return before[-1] if before else messages[0][1]


def nearest_message(messages: list[tuple[int, object]], tick: int) -> object:
    best = min(range(len(messages)), key=lambda i: (abs(messages[i][0] - tick), i))
    return messages[best][1]


def decoded(msg) -> np.ndarray:
    if hasattr(msg, "format"):  # CompressedImage
        return np.asarray(Image.open(io.BytesIO(bytes(msg.data))).convert("RGB"))
    return np.asarray(msg.data, dtype=np.uint8).reshape(msg.height, msg.width, 3)


def expected_arrays(bag: Path, tasks: list[str], clock: str = FRONT) -> dict[str, np.ndarray]:
    ref = reference(bag)
    ticks = [t for t, _ in ref[clock]]
    states = [held(ref["/joint_states"], t) for t in ticks]
    return {
        "timestamp": np.array([(t - ticks[0]) / 1e9 for t in ticks]),
        "observation.state": np.array([s.position for s in states]),
        "observation.velocity": np.array([s.velocity for s in states]),
        "observation.gripper": np.array([s.position[list(s.name).index("gripper")] for s in states]),
        "action": np.array([held(ref["/action"], t).data for t in ticks]),
        "task_index": np.array([tasks.index(held(ref["/task"], t).data) for t in ticks]),
    }


# --- the sample ------------------------------------------------------------------------------------


def test_detect() -> None:
    assert rosbag.detect(SAMPLE)
    assert rosbag.detect(SAMPLE / "episode_000")
    assert rosbag.detect(SAMPLE / "episode_000" / "episode_000.mcap")
    assert not rosbag.detect(SAMPLE / "episode_000" / "metadata.yaml")
    assert not rosbag.detect(SAMPLE.parent / "README.md")
    assert not rosbag.detect(SAMPLE.parent / "no_such_thing")
    assert not mcap_source.detect(SAMPLE)
    assert not mcap_source.detect(SAMPLE / "episode_000" / "episode_000.mcap")


def test_scan_sample() -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options())
    assert scan.format == "ROSBAG" and scan.name == "rosbag2_mcap"
    assert [(e.index, e.file, e.length) for e in scan.episodes] == [
        (0, "episode_000", 30),
        (1, "episode_001", 30),
    ]
    assert scan.fps == pytest.approx(15.0, abs=1e-6)
    assert scan.cameras == ["front", "wrist"]
    assert scan.episodes[0].cameras == {"front": [30, 120, 160], "wrist": [30, 60, 80]}
    assert scan.episodes[0].duration == pytest.approx(2.0, abs=1e-6)
    assert scan.joint_names == ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6", "gripper"]
    assert scan.tasks == [(0, "pick up the red cube"), (1, "open the drawer")]
    assert [e.task_indexes for e in scan.episodes] == [[0], [1]]
    assert scan.episodes[0].missing == ["observation.ee_pose"]
    assert scan.clock.startswith(f"camera {FRONT}, 15.0 Hz mean; times from header.stamp")
    assert "log time for /action, /task" in scan.clock
    assert scan.format_version == "rosbag2 v9 (mcap)"
    targets = {m.source: m.target for m in scan.mapping}
    assert targets == {
        "/action": "action",
        FRONT: "camera:front",
        WRIST: "camera:wrist",
        "/joint_states.position": "observation.state",
        "/joint_states.velocity": "observation.velocity",
        "/joint_states.position[gripper]": "observation.gripper",
        "/joint_states.effort": None,
        "/task": "task",
    }
    by_source = {m.source: m for m in scan.mapping}
    assert by_source[WRIST].shape == [60, 80, 3] and by_source["/action"].shape == [7]
    assert "200 messages in 2 bag(s)" in by_source["/joint_states.effort"].note
    assert scan.features["observation.images.front"]["shape"] == [120, 160, 3]


def test_arrays_equal_anyreader_resampled() -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options())
    tasks = [t for _, t in scan.tasks]
    for n in range(2):
        expected = expected_arrays(SAMPLE / scan.episodes[n].file, tasks)
        reader = reader_for(SAMPLE, scan, n)
        try:
            got = reader.arrays(NAMES, slice(None))
            assert set(got) == set(NAMES)
            for name in NAMES:
                np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-12, err_msg=name)
            assert got["timestamp"].dtype == np.float64 and got["task_index"].dtype == np.int64
            part = reader.arrays(["observation.state", "observation.ee_pose"], slice(5, 12))
            assert list(part) == ["observation.state"]
            np.testing.assert_array_equal(part["observation.state"], got["observation.state"][5:12])
        finally:
            reader.close()


def test_frames_decode_only_the_asked_messages(monkeypatch) -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options())
    decoded_topics: list[str] = []
    real = rosbag.RosBag.decode

    def counting(self, topic, raw):
        decoded_topics.append(topic)
        return real(self, topic, raw)

    monkeypatch.setattr(rosbag.RosBag, "decode", counting)
    reader = reader_for(SAMPLE, scan)
    try:
        assert len(reader.frames("wrist", [3, 20, 3])) == 3
        assert decoded_topics == [WRIST, WRIST]
        assert len(reader.frames("front", list(range(10, 16)))) == 6
        assert decoded_topics[2:] == [FRONT] * 6
    finally:
        reader.close()


def test_frames_equal_decoded_messages() -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options())
    bag = SAMPLE / scan.episodes[1].file
    ref = reference(bag)
    ticks = [t for t, _ in ref[FRONT]]
    reader = reader_for(SAMPLE, scan, 1)
    try:
        assert reader.cameras() == {"front": (30, 120, 160), "wrist": (30, 60, 80)}
        for camera, topic in (("front", FRONT), ("wrist", WRIST)):
            indices = [29, 0, 7, 8, 9, 3, 7]
            frames = reader.frames(camera, indices)
            for index, frame in zip(indices, frames, strict=True):
                assert frame.dtype == np.uint8 and frame.shape[2] == 3
                np.testing.assert_array_equal(frame, decoded(nearest_message(ref[topic], ticks[index])))
        with pytest.raises(FrameRequestError) as err:
            reader.frames("top", [0])
        assert err.value.what == "camera"
        with pytest.raises(FrameRequestError) as err:
            reader.frames("front", [30])
        assert err.value.what == "frames"
    finally:
        reader.close()


def test_a_bag_folder_and_its_storage_file_are_one_episode_datasets() -> None:
    for path in (SAMPLE / "episode_001", SAMPLE / "episode_001" / "episode_001.mcap"):
        scan = rosbag.scan(path, rosbag.Options())
        assert [(e.index, e.file, e.length) for e in scan.episodes] == [(0, "", 30)]
        reader = reader_for(path, scan)
        try:
            assert reader.arrays(["task_index"], slice(None))["task_index"].tolist() == [0] * 30
        finally:
            reader.close()


# --- options ---------------------------------------------------------------------------------------


def test_fixed_rate_clock() -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options(fps=10))
    ref = reference(SAMPLE / "episode_000")
    mapped = [t for topic in ("/joint_states", "/action", FRONT, WRIST, "/task") for t, _ in ref[topic]]
    start, end = min(mapped), max(mapped)
    length = int((end - start) * 10 / 1e9) + 1
    assert scan.fps == 10 and scan.episodes[0].length == length
    assert scan.clock.startswith("fixed rate 10 Hz")
    reader = reader_for(SAMPLE, scan)
    try:
        got = reader.arrays(["timestamp", "observation.state"], slice(None))
        np.testing.assert_allclose(got["timestamp"], np.arange(length) / 10, atol=1e-9)
        ticks = [start + round(k * 1e8) for k in range(length)]
        expected = [held(ref["/joint_states"], t).position for t in ticks]
        np.testing.assert_array_equal(got["observation.state"], np.array(expected))
        frames = reader.frames("wrist", [length - 1])
        np.testing.assert_array_equal(frames[0], decoded(nearest_message(ref[WRIST], ticks[-1])))
    finally:
        reader.close()


def test_clock_topic_and_cameras_options() -> None:
    scan = rosbag.scan(SAMPLE, rosbag.Options(clock_topic="/joint_states", cameras={"hand": WRIST}))
    assert [e.length for e in scan.episodes] == [100, 100]
    assert scan.cameras == ["hand"] and scan.episodes[0].cameras == {"hand": [100, 60, 80]}
    stamps = [[t for t, _ in reference(SAMPLE / e.file)["/joint_states"]] for e in scan.episodes]
    assert scan.fps == pytest.approx(
        sum(len(s) - 1 for s in stamps) / (sum(s[-1] - s[0] for s in stamps) / 1e9)
    )
    assert scan.clock.startswith(f"topic /joint_states, {scan.fps:.1f} Hz mean")
    assert {m.source: m.target for m in scan.mapping}[FRONT] is None
    tasks = [t for _, t in scan.tasks]
    expected = expected_arrays(SAMPLE / "episode_000", tasks, clock="/joint_states")
    reader = reader_for(SAMPLE, scan)
    try:
        got = reader.arrays(["action", "observation.state"], slice(None))
        np.testing.assert_array_equal(got["action"], expected["action"])
        np.testing.assert_array_equal(got["observation.state"], expected["observation.state"])
    finally:
        reader.close()


def test_options_are_validated() -> None:
    with pytest.raises(pydantic.ValidationError):
        rosbag.Options(fps=10, clock_topic="/joint_states")
    with pytest.raises(pydantic.ValidationError):
        rosbag.Options(clock="/joint_states")
    with pytest.raises(pydantic.ValidationError):
        rosbag.Options(fps=0)
    schema = rosbag.Options.model_json_schema()
    assert all(field.get("description") for field in schema["properties"].values())


def test_option_errors_name_the_topic() -> None:
    with pytest.raises(SourceError) as err:
        rosbag.scan(SAMPLE, rosbag.Options(state_topic="/robot/joint_states"))
    assert err.value.where == "/robot/joint_states" and "/joint_states" in err.value.problem
    with pytest.raises(SourceError) as err:
        rosbag.scan(SAMPLE, rosbag.Options(state_topic="/action"))
    assert err.value.where == "/action" and "JointState" in err.value.problem
    assert err.value.path.endswith("episode_000")
    with pytest.raises(SourceError) as err:
        rosbag.scan(SAMPLE, rosbag.Options(cameras={"x": "/joint_states"}))
    assert err.value.where == "/joint_states" and "Image" in err.value.problem
    with pytest.raises(SourceError) as err:
        rosbag.scan(SAMPLE, rosbag.Options(clock_topic="/tick"))
    assert err.value.where == "/tick"


# --- generated bags --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bags")
    settings = {"episodes": 3, "frames": 24, "cameras": ("front", "wrist", "top"), "joints": 5}
    return {
        storage: write_dataset(root / storage, storage=storage, **settings)
        for storage in ("ros1", "sqlite3", "mcap")
    }


def test_generated_storages_read_the_same(generated: dict[str, Path]) -> None:
    scans = {storage: rosbag.scan(path, rosbag.Options()) for storage, path in generated.items()}
    assert scans["ros1"].format_version == "ROS 1 bag 2.0"
    assert scans["sqlite3"].format_version == "rosbag2 v9 (sqlite3)"
    first = scans["ros1"]
    assert [e.file for e in first.episodes] == ["episode_000.bag", "episode_001.bag", "episode_002.bag"]
    assert first.cameras == ["front", "top", "wrist"] and first.joint_names[-1] == "gripper"
    assert {m.source: m.target for m in first.mapping}["/diagnostics_rate"] is None
    for storage, scan in scans.items():
        assert [e.index for e in scan.episodes] == [0, 1, 2]
        assert [e.length for e in scan.episodes] == [24, 24, 24]
        assert scan.episodes[2].cameras == {"front": [24, 48, 64], "top": [24, 48, 64], "wrist": [24, 48, 64]}
        assert scan.fps == pytest.approx(first.fps) and scan.tasks == first.tasks, storage
        assert scan.clock == first.clock
    tasks = [t for _, t in first.tasks]
    for storage, path in generated.items():
        scan = scans[storage]
        for n in (0, 2):
            bag = path / scan.episodes[n].file
            expected = expected_arrays(bag, tasks)
            ref = reference(bag)
            ticks = [t for t, _ in ref[FRONT]]
            reader = reader_for(path, scan, n)
            try:
                got = reader.arrays(NAMES, slice(None))
                for name in NAMES:
                    np.testing.assert_allclose(
                        got[name], expected[name], atol=1e-12, err_msg=f"{storage} {name}"
                    )
                for camera, topic in (("top", "/camera/top/image_raw/compressed"), ("wrist", WRIST)):
                    frames = reader.frames(camera, [23, 1, 2, 12])
                    for index, frame in zip([23, 1, 2, 12], frames, strict=True):
                        np.testing.assert_array_equal(
                            frame, decoded(nearest_message(ref[topic], ticks[index]))
                        )
            finally:
                reader.close()


def test_unchanged_bags_are_not_read_again(generated: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    for storage in ("ros1", "mcap"):
        path = shutil.copytree(generated[storage], tmp_path / storage)
        first = rosbag.scan(path, rosbag.Options())
        opened: list[Path] = []
        real = rosbag.RosBag

        def counting(bag: Path, real=real, opened=opened) -> rosbag.RosBag:
            opened.append(bag)
            return real(bag)

        monkeypatch.setattr(rosbag, "RosBag", counting)
        again = rosbag.scan(path, rosbag.Options(), previous={e.file: e for e in first.episodes})
        assert opened == []
        assert [(e.index, e.length, e.cameras) for e in again.episodes] == [
            (e.index, e.length, e.cameras) for e in first.episodes
        ]
        assert again.mapping == first.mapping and again.clock == first.clock
        changed = path / first.episodes[1].file
        touched = changed / "episode_001.mcap" if changed.is_dir() else changed
        os.utime(touched, (1_800_000_000, 1_800_000_000))
        rosbag.scan(path, rosbag.Options(), previous={e.file: e for e in first.episodes})
        assert opened == [changed, changed]  # its topics, then its episode
        opened.clear()
        rosbag.scan(path, rosbag.Options(fps=5), previous={e.file: e for e in first.episodes})
        assert len(opened) == 3 + 1  # another plan: every episode again (and the changed one's topics)
        monkeypatch.setattr(rosbag, "RosBag", real)


def test_numeric_episode_order_and_indexes(tmp_path: Path) -> None:
    (tmp_path / "numbered").mkdir()
    for name in ("run_10.bag", "run_9.bag", "run_2.bag"):
        write_bag(tmp_path / "numbered" / name, "ros1", frames=3, cameras=("front",))
    scan = rosbag.scan(tmp_path / "numbered", rosbag.Options())
    assert [(e.index, e.file) for e in scan.episodes] == [
        (2, "run_2.bag"),
        (9, "run_9.bag"),
        (10, "run_10.bag"),
    ]
    (tmp_path / "same").mkdir()
    for name in ("a_1.bag", "b_1.bag"):
        write_bag(tmp_path / "same" / name, "ros1", frames=3, cameras=("front",))
    scan = rosbag.scan(tmp_path / "same", rosbag.Options())
    assert [(e.index, e.file) for e in scan.episodes] == [(0, "a_1.bag"), (1, "b_1.bag")]


# --- broken bags -----------------------------------------------------------------------------------


def test_unreadable_bags(tmp_path: Path) -> None:
    broken = shutil.copytree(SAMPLE, tmp_path / "broken")
    storage = broken / "episode_001" / "episode_001.mcap"
    data = storage.read_bytes()
    storage.chmod(0o644)
    storage.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as err:
        rosbag.scan(broken, rosbag.Options())
    assert err.value.path.endswith("episode_001")
    (tmp_path / "ros1").mkdir()
    (tmp_path / "ros1" / "episode_0.bag").write_bytes(b"#ROSBAG V2.0\n" + b"\x00" * 64)
    with pytest.raises(SourceError) as err:
        rosbag.scan(tmp_path / "ros1", rosbag.Options())
    assert err.value.path.endswith("episode_0.bag") and "not a readable bag" in err.value.problem
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError) as err:
        rosbag.scan(tmp_path / "empty", rosbag.Options())
    assert err.value.path.endswith("empty")


def _write_custom(
    path: Path, messages: list[tuple[str, str, int, object]], empty: tuple[str, str] | None = None
) -> Path:
    """A rosbag2 (mcap) bag of (topic, type, time, message); `empty`: a (topic, type) without messages."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    with Ros2Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {}
        for topic, msgtype, t, msg in messages:
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(connections[topic], t, store.serialize_cdr(msg, msgtype))
        if empty:
            writer.add_connection(*empty, typestore=store)
    return path


def _image(store, encoding: str, t: int, data: np.ndarray, height: int = 2, width: int = 2):
    types = store.types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9), frame_id=""
    )
    return types["sensor_msgs/msg/Image"](
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=data.size // height,
        data=data,
    )


def test_unknown_encoding_and_empty_clock(tmp_path: Path) -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    yuv = np.zeros(8, dtype=np.uint8)
    (tmp_path / "yuv").mkdir()
    _write_custom(
        tmp_path / "yuv" / "episode_0",
        [("/cam/depth", "sensor_msgs/msg/Image", 10**9, _image(store, "yuv422", 10**9, yuv))],
    )
    with pytest.raises(SourceError) as err:
        rosbag.scan(tmp_path / "yuv", rosbag.Options())
    assert err.value.where == "/cam/depth" and "yuv422" in err.value.problem
    assert err.value.path.endswith("episode_0")
    rgb = np.arange(12, dtype=np.uint8)
    (tmp_path / "clock").mkdir()
    _write_custom(
        tmp_path / "clock" / "episode_0",
        [("/cam/a", "sensor_msgs/msg/Image", 10**9, _image(store, "rgb8", 10**9, rgb))],
    )
    _write_custom(
        tmp_path / "clock" / "episode_1",
        [("/cam/b", "sensor_msgs/msg/Image", 10**9, _image(store, "rgb8", 10**9, rgb))],
        empty=("/cam/a", "sensor_msgs/msg/Image"),
    )
    with pytest.raises(SourceError) as err:
        rosbag.scan(tmp_path / "clock", rosbag.Options(clock_topic="/cam/a"))
    assert (
        err.value.where == "/cam/a"
        and err.value.path.endswith("episode_1")
        and "no messages" in err.value.problem
    )


def test_several_joint_state_topics_ask_to_choose(tmp_path: Path) -> None:
    types = get_typestore(Stores.ROS2_HUMBLE).types

    def state(t: int, value: float):
        stamp = types["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9)
        header = types["std_msgs/msg/Header"](stamp=stamp, frame_id="")
        empty = np.array([], dtype=np.float64)
        return types["sensor_msgs/msg/JointState"](
            header=header, name=["a"], position=np.array([float(value)]), velocity=empty, effort=empty
        )

    times = [10**9, 11 * 10**8, 12 * 10**8]
    messages = [
        ("/right/joint_states", "sensor_msgs/msg/JointState", t, state(t, n)) for n, t in enumerate(times)
    ]
    messages.insert(1, ("/left/joint_states", "sensor_msgs/msg/JointState", times[0], state(times[0], 9.0)))
    (tmp_path / "two").mkdir()
    _write_custom(tmp_path / "two" / "episode_0", messages)
    with pytest.raises(SourceError) as err:
        rosbag.scan(tmp_path / "two", rosbag.Options())
    assert "/left/joint_states" in err.value.problem and "/right/joint_states" in err.value.problem
    assert "state_topic" in err.value.problem
    scan = rosbag.scan(tmp_path / "two", rosbag.Options(state_topic="/right/joint_states"))
    assert scan.joint_names == ["a"] and scan.fps == pytest.approx(10.0)
    assert scan.clock.startswith("joint states /right/joint_states (no camera), 10.0 Hz")
    assert {m.source: m.target for m in scan.mapping}["/left/joint_states"] is None
    assert scan.episodes[0].missing == [
        "action",
        "observation.velocity",
        "observation.ee_pose",
        "observation.gripper",
    ]
    reader = reader_for(tmp_path / "two", scan)
    try:
        got = reader.arrays(["observation.state", "observation.velocity", "timestamp"], slice(None))
        assert (
            got["observation.state"].tolist() == [[0.0], [1.0], [2.0]] and "observation.velocity" not in got
        )
        assert reader.cameras() == {}
    finally:
        reader.close()
    with pytest.raises(SourceError) as err:  # one message: no rate to take
        rosbag.scan(tmp_path / "two", rosbag.Options(state_topic="/left/joint_states"))
    assert err.value.where == "/left/joint_states" and "set fps" in err.value.problem


# --- shared conversions ----------------------------------------------------------------------------


def test_raw_image_encodings() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)

    def msg(encoding: str, data: np.ndarray, step: int, **more) -> dict:
        return {"height": 2, "width": 3, "encoding": encoding, "step": step, "data": data.tobytes(), **more}

    np.testing.assert_array_equal(raw_image_rgb(msg("rgb8", rgb, 9), "f", "t"), rgb)
    np.testing.assert_array_equal(raw_image_rgb(msg("bgr8", rgb[:, :, ::-1], 9), "f", "t"), rgb)
    rgba = np.concatenate([rgb, np.full((2, 3, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(raw_image_rgb(msg("rgba8", rgba, 12), "f", "t"), rgb)
    bgra = np.concatenate([rgb[:, :, ::-1], np.full((2, 3, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(raw_image_rgb(msg("bgra8", bgra, 12), "f", "t"), rgb)
    padded = np.zeros((2, 4), np.uint8)
    padded[:, :3] = [[0, 128, 255], [1, 2, 3]]
    assert raw_image_rgb(msg("mono8", padded, 4), "f", "t")[:, :, 1].tolist() == [[0, 128, 255], [1, 2, 3]]
    wide = np.array([[0, 65535, 257], [32768, 1000, 65534]], dtype="<u2")
    got = raw_image_rgb(msg("mono16", wide, 6), "f", "t")
    assert got[:, :, 0].tolist() == [[0, 255, 1], [128, 4, 255]] and (got[:, :, 0] == got[:, :, 2]).all()
    big = raw_image_rgb(msg("mono16", wide.astype(">u2"), 6, is_bigendian=1), "f", "t")
    np.testing.assert_array_equal(big, got)
    with pytest.raises(SourceError) as err:
        raw_image_rgb(msg("32FC1", rgb, 9), "bag.bag", "/depth")
    assert err.value.where == "/depth" and err.value.path == "bag.bag"
    with pytest.raises(SourceError):
        raw_image_rgb(msg("rgb8", rgb[:1], 9), "bag.bag", "/cam")  # too few bytes


def test_resampling_and_names() -> None:
    times = np.array([10, 20, 30])
    assert hold(times, np.array([5, 10, 19, 20, 35])).tolist() == [0, 0, 0, 1, 2]
    assert nearest(times, np.array([5, 14, 15, 16, 40])).tolist() == [0, 0, 0, 1, 2]
    assert camera_names(
        ["/camera/front/image_raw/compressed", "/camera/front/image_raw", "/wrist_cam/image"]
    ) == {
        "front": "/camera/front/image_raw",
        "front_2": "/camera/front/image_raw/compressed",
        "wrist_cam": "/wrist_cam/image",
    }
