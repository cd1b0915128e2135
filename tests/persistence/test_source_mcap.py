"""The MCAP reader against plain MCAP files written by tests/samples_mcap.py with mcap's writers, in ROS 2
(CDR), protobuf (foxglove.RawImage / CompressedImage) and JSON encodings. References are computed here
from mcap's own reader (its ROS 2 and protobuf decoders, json.loads) with the simplest resampling: the
last message at or before each tick (else the first), the nearest camera message for each frame."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap.writer import Writer as McapWriter
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoders
from mcap_ros2.decoder import DecoderFactory as Ros2Decoders
from PIL import Image

from persistence.episode_sources import mcap as mcap_source
from persistence.episode_sources import rosbag
from persistence.episode_sources.base import FrameRequestError, SourceError, make_ref
from tests.samples_mcap import write_mcap, write_mcap_dataset

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
ENCODINGS = ("ros2", "protobuf", "json")


def get(msg, name):
    return msg[name] if isinstance(msg, dict) else getattr(msg, name)


def stamp_of(msg) -> int:
    """header.stamp (ROS 2, JSON JointState) or timestamp (protobuf, foxglove JSON); 0 when absent."""
    if isinstance(msg, dict):
        if "header" in msg:
            return msg["header"]["stamp"]["sec"] * 10**9 + msg["header"]["stamp"]["nanosec"]
        if "timestamp" in msg:
            return msg["timestamp"]["sec"] * 10**9 + msg["timestamp"]["nsec"]
        return 0
    if hasattr(msg, "header"):
        return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
    if hasattr(msg, "timestamp"):
        return msg.timestamp.seconds * 10**9 + msg.timestamp.nanos
    return 0


def reference(path: Path) -> dict[str, list[tuple[int, object]]]:
    """topic -> [(time, decoded message)] sorted by time, read with mcap's reader."""
    out: dict[str, list[tuple[int, object]]] = {}
    with path.open("rb") as f:
        reader = make_reader(f, decoder_factories=[Ros2Decoders(), ProtobufDecoders()])
        for schema, channel, message in reader.iter_messages():
            if schema is None:
                continue
            if channel.message_encoding == "json":
                msg = json.loads(message.data)
            else:
                msg = next(
                    d.decoded_message
                    for d in reader.iter_decoded_messages(
                        [channel.topic], start_time=message.log_time, end_time=message.log_time + 1
                    )
                )
            out.setdefault(channel.topic, []).append((stamp_of(msg) or message.log_time, msg))
    return {topic: sorted(messages, key=lambda m: m[0]) for topic, messages in out.items()}


def held(messages, tick):
    before = [m for t, m in messages if t <= tick]
    return before[-1] if before else messages[0][1]


def nearest_message(messages, tick):
    return messages[min(range(len(messages)), key=lambda i: (abs(messages[i][0] - tick), i))][1]


def pixels(msg) -> np.ndarray:
    data = get(msg, "data")
    data = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    if "format" in (msg if isinstance(msg, dict) else dir(msg)):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return np.frombuffer(data, np.uint8).reshape(get(msg, "height"), get(msg, "width"), 3)


def open_reader(path: Path, scan, episode: int = 0):
    e = scan.episodes[episode]
    return mcap_source.open_episode(make_ref(mcap_source.FORMAT, str(path), e.file, e.locator), None)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mcap")
    return {
        encoding: write_mcap_dataset(
            root / encoding, episodes=2, encoding=encoding, frames=18, chunk_size=16 * 1024
        )
        for encoding in ENCODINGS
    }


def test_detect(datasets: dict[str, Path], tmp_path: Path) -> None:
    samples = Path(__file__).parents[1] / "samples" / "rosbag2_mcap"
    assert mcap_source.detect(datasets["json"]) and mcap_source.detect(datasets["ros2"] / "episode_001.mcap")
    assert not mcap_source.detect(samples / "episode_000" / "episode_000.mcap")  # inside a rosbag2 folder
    assert not mcap_source.detect(samples / "episode_000") and not mcap_source.detect(samples)
    assert not rosbag.detect(datasets["protobuf"])
    fake = tmp_path / "fake.mcap"
    fake.write_bytes(b"not an mcap file")
    assert not mcap_source.detect(fake) and not mcap_source.detect(tmp_path / "missing.mcap")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_scan(datasets: dict[str, Path], encoding: str) -> None:
    scan = mcap_source.scan(datasets[encoding], mcap_source.Options())
    assert scan.format == "MCAP" and scan.name == encoding
    assert [(e.index, e.file, e.length) for e in scan.episodes] == [
        (0, "episode_000.mcap", 18),
        (1, "episode_001.mcap", 18),
    ]
    assert scan.fps == pytest.approx(15.0, abs=1e-6)
    assert scan.cameras == ["front", "wrist"]
    assert scan.episodes[1].cameras == {"front": [18, 48, 64], "wrist": [18, 48, 64]}
    assert scan.joint_names == ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6", "gripper"]
    assert scan.tasks == [(0, "pick up the red cube"), (1, "open the drawer")]
    assert scan.episodes[0].missing == ["observation.ee_pose"]
    stamp = "header.stamp" if encoding == "ros2" else "timestamp"
    assert scan.clock.startswith(f"camera {FRONT}, 15.0 Hz mean; times from {stamp}")
    targets = {m.source: m.target for m in scan.mapping}
    expected = {
        "/action": "action",
        FRONT: "camera:front",
        WRIST: "camera:wrist",
        "/joint_states.position": "observation.state",
        "/joint_states.velocity": "observation.velocity",
        "/joint_states.position[gripper]": "observation.gripper",
        "/joint_states.effort": None,
        "/task": "task",
        "/diagnostics_rate": None,
    }
    assert targets == expected | ({"/notes": None} if encoding == "json" else {})
    by_source = {m.source: m for m in scan.mapping}
    assert by_source["/diagnostics_rate"].note.startswith(
        {
            "ros2": "std_msgs/msg/UInt32 (cdr)",
            "protobuf": "samples.Counter (protobuf)",
            "json": "samples.Counter (json)",
        }[encoding]
    )
    assert by_source[WRIST].shape == [48, 64, 3]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_arrays_and_frames_equal_mcap_reader(datasets: dict[str, Path], encoding: str) -> None:
    path = datasets[encoding]
    scan = mcap_source.scan(path, mcap_source.Options())
    tasks = [t for _, t in scan.tasks]
    for n in range(2):
        ref = reference(path / scan.episodes[n].file)
        ticks = [t for t, _ in ref[FRONT]]
        states = [held(ref["/joint_states"], t) for t in ticks]
        expected = {
            "timestamp": [(t - ticks[0]) / 1e9 for t in ticks],
            "observation.state": [list(get(s, "position")) for s in states],
            "observation.velocity": [list(get(s, "velocity")) for s in states],
            "observation.gripper": [get(s, "position")[-1] for s in states],
            "action": [list(get(held(ref["/action"], t), "data")) for t in ticks],
            "task_index": [tasks.index(get(held(ref["/task"], t), "data")) for t in ticks],
        }
        reader = open_reader(path, scan, n)
        try:
            got = reader.arrays(NAMES, slice(None))
            for name in NAMES:
                np.testing.assert_allclose(got[name], np.array(expected[name]), atol=1e-12, err_msg=name)
            indices = [17, 0, 5, 6, 7, 2]
            for camera, topic in (("front", FRONT), ("wrist", WRIST)):
                for index, frame in zip(indices, reader.frames(camera, indices), strict=True):
                    np.testing.assert_array_equal(frame, pixels(nearest_message(ref[topic], ticks[index])))
            with pytest.raises(FrameRequestError):
                reader.frames("front", [18])
        finally:
            reader.close()


def test_encodings_read_the_same(datasets: dict[str, Path]) -> None:
    results = {}
    for encoding, path in datasets.items():
        scan = mcap_source.scan(path, mcap_source.Options())
        reader = open_reader(path, scan, 1)
        try:
            results[encoding] = (
                reader.arrays(NAMES, slice(None)),
                reader.frames("wrist", [3, 4]),
                reader.frames("front", [9]),
            )
        finally:
            reader.close()
    ros2 = results["ros2"]
    for encoding in ("protobuf", "json"):
        arrays, wrist, front = results[encoding]
        for name in NAMES:
            np.testing.assert_array_equal(arrays[name], ros2[0][name], err_msg=f"{encoding} {name}")
        np.testing.assert_array_equal(np.stack(wrist), np.stack(ros2[1]))
        np.testing.assert_array_equal(front[0], ros2[2][0])


def test_file_without_index_or_counts(datasets: dict[str, Path], tmp_path: Path) -> None:
    plain = write_mcap(
        tmp_path / "episode_004.mcap",
        "json",
        episode=1,
        frames=18,
        writer_options={"use_chunking": False, "use_statistics": False},
    )
    scan = mcap_source.scan(plain, mcap_source.Options())
    indexed = mcap_source.scan(datasets["json"], mcap_source.Options())
    assert [(e.index, e.file, e.length) for e in scan.episodes] == [(0, "", 18)]
    assert {m.source: m.target for m in scan.mapping} == {m.source: m.target for m in indexed.mapping}
    assert {m.source: m.note.split(";")[0] for m in scan.mapping}[
        "/task"
    ] == "samples.Task (json), 1 messages in 1 bag(s)"
    reader, other = open_reader(plain, scan), open_reader(datasets["json"], indexed, 1)
    try:
        assert scan.tasks == [(0, "open the drawer")]  # task indexes count within the dataset
        assert reader.arrays(["task_index"], slice(None))["task_index"].tolist() == [0] * 18
        for name in NAMES[:-1]:
            got = reader.arrays([name], slice(None))[name]
            np.testing.assert_array_equal(got, other.arrays([name], slice(None))[name], err_msg=name)
        np.testing.assert_array_equal(reader.frames("wrist", [11])[0], other.frames("wrist", [11])[0])
    finally:
        reader.close()
        other.close()


def test_episode_indexes_from_names(tmp_path: Path) -> None:
    write_mcap_dataset(
        tmp_path / "runs", 3, "json", names=["run_10.mcap", "run_9.mcap", "run_2.mcap"], frames=3
    )
    scan = mcap_source.scan(tmp_path / "runs", mcap_source.Options())
    assert [(e.index, e.file) for e in scan.episodes] == [
        (2, "run_2.mcap"),
        (9, "run_9.mcap"),
        (10, "run_10.mcap"),
    ]
    write_mcap_dataset(tmp_path / "takes", 2, "json", names=["take_b.mcap", "take_a.mcap"], frames=3)
    scan = mcap_source.scan(tmp_path / "takes", mcap_source.Options())
    assert [(e.index, e.file) for e in scan.episodes] == [(0, "take_a.mcap"), (1, "take_b.mcap")]


def _json_file(
    path: Path, channels: dict[str, tuple[str, dict]], messages: list[tuple[str, int, dict]]
) -> Path:
    """A JSON-encoded MCAP file: channels topic -> (schema name, schema properties)."""
    with path.open("wb") as f:
        writer = McapWriter(f)
        writer.start()
        ids = {}
        for topic, (name, properties) in channels.items():
            schema = writer.register_schema(
                name, "jsonschema", json.dumps({"type": "object", "properties": properties}).encode()
            )
            ids[topic] = writer.register_channel(topic, "json", schema)
        for topic, t, message in messages:
            writer.add_message(ids[topic], t, json.dumps(message).encode(), t)
        writer.finish()
    return path


def test_partial_joint_states_are_held_per_joint(tmp_path: Path) -> None:
    shape = {"name": {"type": "array"}, "position": {"type": "array"}}
    arm = [
        ("/joint_states", 10**9 + 10**8 * n, {"name": ["j1", "j2"], "position": [n, -n]}) for n in range(5)
    ]
    hand = [
        ("/joint_states", 10**9 + 10**8 * n + 5 * 10**7, {"name": ["gripper"], "position": [n / 10]})
        for n in (1, 3)
    ]
    path = _json_file(
        tmp_path / "split.mcap",
        {"/joint_states": ("JointState", shape)},
        sorted(arm + hand, key=lambda m: m[1]),
    )
    scan = mcap_source.scan(path, mcap_source.Options(clock_topic="/joint_states"))
    assert scan.joint_names == ["j1", "j2", "gripper"] and scan.episodes[0].length == 7
    assert "observation.velocity" in scan.episodes[0].missing
    reader = open_reader(path, scan)
    try:
        got = reader.arrays(["observation.state", "observation.gripper"], slice(None))
        # ticks: 1.0 1.1 1.15 1.2 1.3 1.35 1.4 s; the gripper's first message (1.15 s) holds before it too
        np.testing.assert_array_equal(got["observation.state"][:, 0], [0, 1, 1, 2, 3, 3, 4])
        np.testing.assert_array_equal(got["observation.gripper"], [0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.3])
    finally:
        reader.close()


def test_errors_name_file_and_topic(datasets: dict[str, Path], tmp_path: Path) -> None:
    raw = {
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "encoding": {"type": "string"},
        "data": {"type": "string"},
    }
    image = {
        "timestamp": {"sec": 1, "nsec": 0},
        "width": 1,
        "height": 1,
        "encoding": "yuv422",
        "step": 2,
        "data": "AAA=",
    }
    (tmp_path / "yuv").mkdir()
    _json_file(
        tmp_path / "yuv" / "episode_0.mcap",
        {"/cam/image": ("foxglove.RawImage", raw)},
        [("/cam/image", 10**9, image)],
    )
    with pytest.raises(SourceError) as err:
        mcap_source.scan(tmp_path / "yuv", mcap_source.Options())
    assert err.value.where == "/cam/image" and "yuv422" in err.value.problem
    assert err.value.path.endswith("episode_0.mcap")

    broken = shutil.copytree(datasets["protobuf"], tmp_path / "broken")
    data = (broken / "episode_001.mcap").read_bytes()
    (broken / "episode_001.mcap").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as err:
        mcap_source.scan(broken, mcap_source.Options())
    assert err.value.path.endswith("episode_001.mcap")

    samples = Path(__file__).parents[1] / "samples" / "rosbag2_mcap"
    with pytest.raises(SourceError) as err:
        mcap_source.scan(samples / "episode_000" / "episode_000.mcap", mcap_source.Options())
    assert "ROSBAG" in err.value.problem
    with pytest.raises(SourceError) as err:
        mcap_source.scan(datasets["json"], mcap_source.Options(state_topic="/arm/joint_states"))
    assert err.value.where == "/arm/joint_states" and "/joint_states" in err.value.problem
    with pytest.raises(SourceError) as err:
        mcap_source.scan(datasets["json"], mcap_source.Options(cameras={"x": "/diagnostics_rate"}))
    assert err.value.where == "/diagnostics_rate" and err.value.path.endswith("episode_000.mcap")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SourceError):
        mcap_source.scan(tmp_path / "nothing", mcap_source.Options())
