"""Write robot recordings as ROS bags with rosbags' own writers: ROS 1 `.bag`, rosbag2 with sqlite3 or
mcap storage. Deterministic (no randomness, fixed start time), parametrised by episodes, frames,
cameras, joints and rates, so tests and benchmarks can make datasets of any size.

Each bag holds (`recording` says exactly what):
- `/joint_states` sensor_msgs/JointState at `state_hz`: joints `joint_1..` and a last one `gripper`,
  position and velocity, header stamp = the message's time; the log time lags it by 0-2 ms;
- `/action` std_msgs/Float64MultiArray at `state_hz` (no header: log time only), 1 ms after the state;
- per camera, `frames` messages at `camera_hz` starting `2 ms x camera number` late: even-numbered
  cameras as `/camera/<name>/image_raw/compressed` (sensor_msgs/CompressedImage, JPEG), odd-numbered as
  `/camera/<name>/image_raw` (sensor_msgs/Image, rgb8);
- `/task` std_msgs/String, one message at the start;
- `/diagnostics_rate` std_msgs/UInt32 at 1 Hz: a topic no reader maps.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

START_NS = 1_700_000_000_000_000_000
TASKS = ("pick up the red cube", "open the drawer", "stack the blocks")


@dataclass(frozen=True)
class Event:
    """One message to write: `stamp` its header time, `log` the time the recorder logged it (ns)."""

    topic: str
    msgtype: str  # ROS 2 name, e.g. sensor_msgs/msg/JointState
    stamp: int
    log: int
    fields: dict[str, Any]


def camera_topic(number: int, name: str) -> str:
    return f"/camera/{name}/image_raw/compressed" if number % 2 == 0 else f"/camera/{name}/image_raw"


def camera_pixels(number: int, frame: int, height: int, width: int) -> np.ndarray:
    """A smooth pattern that moves with the frame (JPEG keeps it close): H x W x 3 uint8."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [(x * 3 + frame * 5) % 256, (y * 3 + number * 60) % 256, ((x + y) * 2 + frame * 3) % 256], axis=-1
    ).astype(np.uint8)


def jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def recording(
    episode: int = 0,
    frames: int = 30,
    cameras: Sequence[str] = ("front", "wrist"),
    joints: int = 7,
    state_hz: float = 50.0,
    camera_hz: float = 15.0,
    height: int = 48,
    width: int = 64,
) -> list[Event]:
    """The messages of one episode in log-time order (fields as plain Python / numpy values)."""
    names = [f"joint_{j + 1}" for j in range(joints - 1)] + ["gripper"]
    duration = frames / camera_hz
    events: list[Event] = [
        Event("/task", "std_msgs/msg/String", START_NS, START_NS, {"data": TASKS[episode % len(TASKS)]})
    ]
    for i in range(int(duration * state_hz)):
        stamp = START_NS + round(i * 1e9 / state_hz)
        phase = i / state_hz + episode
        position = np.array([np.sin(phase + j) for j in range(joints - 1)] + [0.5 + 0.5 * np.cos(phase)])
        velocity = np.array([np.cos(phase + j) for j in range(joints - 1)] + [-0.5 * np.sin(phase)])
        state = {"name": names, "position": position, "velocity": velocity, "effort": np.zeros(joints)}
        events.append(
            Event("/joint_states", "sensor_msgs/msg/JointState", stamp, stamp + (i % 3) * 1_000_000, state)
        )
        action = {"data": position + 0.01}
        events.append(Event("/action", "std_msgs/msg/Float64MultiArray", 0, stamp + 1_000_000, action))
    for number, name in enumerate(cameras):
        for n in range(frames):
            stamp = START_NS + round(n * 1e9 / camera_hz) + number * 2_000_000
            pixels = camera_pixels(number, n + episode, height, width)
            if number % 2 == 0:
                fields = {"format": "jpeg", "data": jpeg(pixels)}
                events.append(
                    Event(
                        camera_topic(number, name),
                        "sensor_msgs/msg/CompressedImage",
                        stamp,
                        stamp + 500_000,
                        fields,
                    )
                )
            else:
                fields = {
                    "height": height,
                    "width": width,
                    "encoding": "rgb8",
                    "is_bigendian": 0,
                    "step": width * 3,
                    "data": pixels.tobytes(),
                }
                events.append(
                    Event(camera_topic(number, name), "sensor_msgs/msg/Image", stamp, stamp + 500_000, fields)
                )
    for s in range(int(duration) + 1):
        events.append(
            Event("/diagnostics_rate", "std_msgs/msg/UInt32", 0, START_NS + s * 1_000_000_000, {"data": s})
        )
    return sorted(events, key=lambda e: e.log)


def _ros_message(typestore: Any, event: Event, ros1: bool) -> Any:
    types = typestore.types
    fields = dict(event.fields)
    if event.msgtype in (
        "sensor_msgs/msg/JointState",
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
    ):
        sec, nanosec = divmod(event.stamp, 1_000_000_000)
        stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
        header = {"seq": 0} if ros1 else {}
        fields["header"] = types["std_msgs/msg/Header"](stamp=stamp, frame_id="base", **header)
    if "data" in fields and isinstance(fields["data"], bytes):
        fields["data"] = np.frombuffer(fields["data"], dtype=np.uint8)
    if event.msgtype == "std_msgs/msg/Float64MultiArray":
        fields["layout"] = types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
    return types[event.msgtype](**fields)


def _events(kwargs: dict[str, Any], episode: int) -> Iterator[Event]:
    yield from recording(episode=episode, **kwargs)


@functools.cache
def typestore(ros1: bool) -> Any:
    """rosbags' types (built once: building and compiling serialisers costs ~0.3 s)."""
    return get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)


def write_bag(path: Path, storage: str = "ros1", episode: int = 0, **kwargs: Any) -> Path:
    """One bag: storage "ros1" (`path` a .bag file), "sqlite3" or "mcap" (`path` a rosbag2 folder)."""
    ros1 = storage == "ros1"
    types = typestore(ros1)
    if ros1:
        writer: Any = Ros1Writer(path)
    else:
        plugin = StoragePlugin.SQLITE3 if storage == "sqlite3" else StoragePlugin.MCAP
        writer = Ros2Writer(path, version=9, storage_plugin=plugin)
    with writer:
        connections: dict[str, Any] = {}
        for event in _events(kwargs, episode):
            if event.topic not in connections:
                connections[event.topic] = writer.add_connection(event.topic, event.msgtype, typestore=types)
            message = _ros_message(types, event, ros1)
            data = (types.serialize_ros1 if ros1 else types.serialize_cdr)(message, event.msgtype)
            writer.write(connections[event.topic], event.log, data)
    return path


def write_dataset(folder: Path, episodes: int = 3, storage: str = "ros1", **kwargs: Any) -> Path:
    """`episodes` bags named episode_000(.bag) ... in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for episode in range(episodes):
        name = f"episode_{episode:03d}" + (".bag" if storage == "ros1" else "")
        write_bag(folder / name, storage, episode, **kwargs)
    return folder
