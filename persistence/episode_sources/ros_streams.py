"""What the ROSBAG and MCAP readers share: options, topic kinds, message -> numpy, and resampling.

A bag holds streams at their own rates; the episode model has one row per frame. Both readers put
every stream on ONE clock (`ros_plan.py` says how the clock is chosen):
- `hold(times, ticks)`: zero-order hold, the latest message at or before each tick; ticks before the
  first message take the first message (how state, action and task are resampled);
- `nearest(times, ticks)`: the message nearest each tick, the earlier one on a tie (camera frames).
Times are int64 nanoseconds: a message's header stamp when its type has one and no message of the
topic has a zero stamp, else the bag's log (receive) time (`choose_stamps`).

Messages arrive decoded by rosbags (ROS 1 / CDR dataclasses), mcap-ros2-support (dynamic objects),
protobuf (generated classes) or JSON (dicts, bytes as base64): the converters read fields by name from
any of them (`field`). Units are the messages' own: JointState positions in rad or m, velocities in
rad/s or m/s.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from persistence.episode_sources.base import SourceError
from persistence.episode_sources.images import ImageDecodeError, open_image


class Kind(StrEnum):
    """What a topic can be mapped as."""

    JOINT_STATE = "joint_state"  # sensor_msgs/JointState or JointState-shaped
    IMAGE = "image"  # sensor_msgs/Image, foxglove.RawImage
    COMPRESSED_IMAGE = "compressed_image"  # sensor_msgs/CompressedImage, foxglove.CompressedImage
    ARRAY = "array"  # std_msgs/Float64MultiArray, Float32MultiArray: an action
    STRING = "string"  # std_msgs/String: a task


CAMERA_KINDS = (Kind.IMAGE, Kind.COMPRESSED_IMAGE)
ROS_KINDS = {
    "sensor_msgs/msg/JointState": Kind.JOINT_STATE,
    "sensor_msgs/msg/Image": Kind.IMAGE,
    "sensor_msgs/msg/CompressedImage": Kind.COMPRESSED_IMAGE,
    "std_msgs/msg/Float64MultiArray": Kind.ARRAY,
    "std_msgs/msg/Float32MultiArray": Kind.ARRAY,
    "std_msgs/msg/String": Kind.STRING,
}
KIND_TYPES = {
    Kind.JOINT_STATE: "sensor_msgs/JointState",
    Kind.IMAGE: "sensor_msgs/Image",
    Kind.COMPRESSED_IMAGE: "sensor_msgs/CompressedImage",
    Kind.ARRAY: "std_msgs/Float64MultiArray or Float32MultiArray",
    Kind.STRING: "std_msgs/String",
}


def ros_kind(msgtype: str) -> Kind | None:
    """The kind of a ROS type name, ROS 1 ("sensor_msgs/Image") or ROS 2 ("sensor_msgs/msg/Image")."""
    package, _, name = msgtype.rpartition("/")
    package = package.removesuffix("/msg")
    return ROS_KINDS.get(f"{package}/msg/{name}")


class StreamOptions(BaseModel):
    """Which topics are what, and the clock. Every field defaults to what the bag says itself."""

    model_config = ConfigDict(extra="forbid")

    fps: float | None = Field(
        None,
        gt=0,
        description="Resample every stream at this rate (Hz), from the earliest to the latest message of "
        "the mapped topics, instead of on a topic's clock. Default: none (the clock of a camera topic).",
    )
    clock_topic: str | None = Field(
        None,
        description="Topic whose messages are the frames: one frame per message, the other streams "
        "resampled onto its times. Default: the camera topic with the most messages (ties by name), "
        "else the joint-state topic. Exclusive with fps.",
    )
    state_topic: str | None = Field(
        None,
        description="sensor_msgs/JointState topic: position -> observation.state, velocity -> "
        "observation.velocity, joints named like 'gripper' -> observation.gripper. Default: the one "
        "JointState topic (several: an error asks to choose).",
    )
    action_topic: str | None = Field(
        None,
        description="Float64MultiArray / Float32MultiArray topic -> action. Default: the one array topic "
        "whose last name part contains 'action'.",
    )
    task_topic: str | None = Field(
        None,
        description="std_msgs/String topic whose texts are the episode's task. Default: the one string "
        "topic whose last name part contains 'task'.",
    )
    cameras: dict[str, str] | None = Field(
        None,
        description="Camera name -> Image or CompressedImage topic. Default: every image topic, named "
        "from its topic ('/camera/front/image_raw/compressed' -> 'front').",
    )

    @model_validator(mode="after")
    def _one_clock(self) -> StreamOptions:
        if self.fps is not None and self.clock_topic is not None:
            raise ValueError("give fps or clock_topic, not both")
        return self


@dataclass
class Topic:
    """One topic of a bag: `msgtype` as the bag names it (a ROS type or a schema name), `kind` None when
    the reader does not understand it (it is listed as unmapped)."""

    name: str
    msgtype: str
    count: int
    kind: Kind | None
    encoding: str = "cdr"  # ros1, cdr, protobuf, json

    def mapped_kind(self) -> Kind:
        """`kind` of a topic a plan maps (a plan picks only topics whose kind the reader knows)."""
        if self.kind is None:
            raise ValueError(f"{self.name} ({self.msgtype}) is not a topic the reader maps")
        return self.kind


@dataclass
class Stamps:
    """One topic's message times in the bag's (log-time) order: `times` the clock used, `log` the log
    times (how messages are found again through the bag index), `source` which field `times` came from."""

    times: np.ndarray  # int64 ns
    log: np.ndarray  # int64 ns
    source: str  # "header.stamp", "timestamp" or "log time"

    @property
    def order(self) -> np.ndarray:
        """Message ordinals sorted by `times` (stable: stamps need not follow log order)."""
        return np.argsort(self.times, kind="stable")


def choose_stamps(log: Sequence[int], stamps: Sequence[int] | None, field_name: str) -> Stamps:
    """Header stamps when the type has them and none is zero (unset), else log times."""
    log_arr = np.asarray(log, dtype=np.int64)
    stamp_arr = np.asarray(stamps if stamps is not None else [], dtype=np.int64)
    if stamp_arr.size and stamp_arr.size == log_arr.size and (stamp_arr > 0).all():
        return Stamps(stamp_arr, log_arr, field_name)
    return Stamps(log_arr.copy(), log_arr, "log time")


# --- resampling ---------------------------------------------------------------------------------


def hold(times: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Index into sorted `times` of the latest message at or before each tick (0 before the first)."""
    return np.clip(np.searchsorted(times, ticks, side="right") - 1, 0, None)


def nearest(times: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Index into sorted `times` of the message nearest each tick; a tie takes the earlier one."""
    after = np.clip(np.searchsorted(times, ticks, side="left"), 0, len(times) - 1)
    before = np.clip(after - 1, 0, None)
    take_before = np.abs(ticks - times[before]) <= np.abs(times[after] - ticks)
    return np.where(take_before, before, after)


def fixed_ticks(start: int, end: int, fps: float) -> np.ndarray:
    """Ticks every 1/fps s from `start` to `end` (ns, both included when on the grid)."""
    count = int(np.floor((end - start) * fps / 1e9 + 1e-9)) + 1
    return start + np.round(np.arange(count) * (1e9 / fps)).astype(np.int64)


# --- field access and conversions ----------------------------------------------------------------


def field(msg: Any, name: str, default: Any = None) -> Any:
    """A field of a decoded message (attribute) or of a JSON object (key)."""
    if isinstance(msg, dict):
        return msg.get(name, default)
    return getattr(msg, name, default)


def payload(msg: Any, name: str = "data") -> bytes | np.ndarray:
    """A byte field: bytes, a uint8 array, a JSON base64 string or a JSON list of ints."""
    value = field(msg, name, b"")
    if isinstance(value, str):
        return base64.b64decode(value)
    if isinstance(value, list):
        return bytes(value)
    return value


def message_stamp(msg: Any) -> tuple[int, str]:
    """(ns, field) from `header.stamp` (ROS) or `timestamp` (foxglove schemas); (0, "") if neither."""
    header = field(msg, "header")
    stamp, where = (field(header, "stamp"), "header.stamp") if header is not None else (None, "")
    if stamp is None:
        stamp, where = field(msg, "timestamp"), "timestamp"
    if stamp is None or isinstance(stamp, (int, float)):
        return 0, ""
    sec = field(stamp, "sec", None)
    sec = field(stamp, "seconds", 0) if sec is None else sec
    nsec = field(stamp, "nanosec", None)
    nsec = nsec if nsec is not None else field(stamp, "nsec", None)
    nsec = nsec if nsec is not None else field(stamp, "nanos", 0)
    return int(sec) * 1_000_000_000 + int(nsec), where


def raw_stamp(raw: bytes | memoryview, ros1: bool) -> int:
    """header.stamp of a serialised message whose first field is a std_msgs/Header, without
    deserialising it: ROS 1 puts `seq` (uint32) first, CDR a 4-byte encapsulation header (byte 1: 1 for
    little endian); either way sec and nanosec are the next two 32-bit words."""
    if len(raw) < 12:
        return 0
    little = ros1 or raw[1] == 1
    sec, nsec = struct.unpack("<iI" if little else ">iI", bytes(raw[4:12]))
    return sec * 1_000_000_000 + nsec


def joint_state(msg: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, position, velocity) of a JointState(-shaped) message; velocity may be empty."""
    names = [str(n) for n in _listed(field(msg, "name"))]
    position = np.asarray(_listed(field(msg, "position")), dtype=np.float64)
    velocity = np.asarray(_listed(field(msg, "velocity")), dtype=np.float64)
    return names, position, velocity


def _listed(value: Any) -> Any:
    """A sequence field as given (list, numpy array, protobuf repeated), [] when absent (JSON null)."""
    return [] if value is None else value


def float_array(msg: Any) -> np.ndarray:
    """`data` of a Float64MultiArray / Float32MultiArray as a flat array (its layout is not applied)."""
    return np.asarray(_listed(field(msg, "data")), dtype=np.float64).ravel()


def text(msg: Any) -> str:
    return str(field(msg, "data", ""))


# Raw encodings understood: channels and bytes per channel.
RAW_ENCODINGS = {
    "rgb8": (3, 1),
    "bgr8": (3, 1),
    "rgba8": (4, 1),
    "bgra8": (4, 1),
    "mono8": (1, 1),
    "mono16": (1, 2),
}


def raw_image_info(msg: Any, path: str, topic: str) -> tuple[int, int, str]:
    """(height, width, encoding) of a sensor_msgs/Image or foxglove.RawImage; SourceError for an
    encoding other than RAW_ENCODINGS."""
    encoding = str(field(msg, "encoding", "")).lower()
    if encoding not in RAW_ENCODINGS:
        raise SourceError(
            path,
            f"image encoding {encoding!r} is not supported (supported: {', '.join(RAW_ENCODINGS)})",
            topic,
        )
    return int(field(msg, "height", 0)), int(field(msg, "width", 0)), encoding


def raw_image_rgb(msg: Any, path: str, topic: str) -> np.ndarray:
    """H x W x 3 uint8 RGB from a raw image: bgr/bgra reordered, alpha dropped, mono repeated, mono16
    scaled linearly from 0..65535 to 0..255 (value * 255 / 65535, rounded); rows may be padded (`step`)."""
    height, width, encoding = raw_image_info(msg, path, topic)
    channels, size = RAW_ENCODINGS[encoding]
    row = width * channels * size
    step = int(field(msg, "step", 0)) or row
    data = np.frombuffer(payload(msg), dtype=np.uint8)
    if step < row or data.size < step * height:
        raise SourceError(
            path, f"image data holds {data.size} bytes, {height} rows of {step} bytes expected", topic
        )
    rows = data[: step * height].reshape(height, step)[:, :row]
    if encoding == "mono16":
        big = bool(field(msg, "is_bigendian", False))
        wide = np.ascontiguousarray(rows).view(">u2" if big else "<u2").reshape(height, width)
        gray = ((wide.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    pixels = rows.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if encoding.startswith("bgr"):
        pixels = pixels[:, :, [2, 1, 0]]
    return np.ascontiguousarray(pixels[:, :, :3])


def _open_compressed(msg: Any, path: str, topic: str) -> Image.Image:
    try:
        return open_image(bytes(payload(msg)))
    except ImageDecodeError as err:
        fmt = field(msg, "format", "")
        raise SourceError(
            path, f"cannot decode the compressed image (format {fmt!r}): {err}", topic
        ) from None


def compressed_size(msg: Any, path: str, topic: str) -> tuple[int, int]:
    """(height, width) from the JPEG/PNG header only (Pillow opens lazily)."""
    width, height = _open_compressed(msg, path, topic).size
    return height, width


def compressed_rgb(msg: Any, path: str, topic: str) -> np.ndarray:
    """H x W x 3 uint8 RGB decoded by Pillow (JPEG, PNG, or what else Pillow reads)."""
    image = _open_compressed(msg, path, topic)
    try:
        return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as err:
        raise SourceError(path, f"cannot decode the compressed image: {err}", topic) from None


def image_size(kind: Kind, msg: Any, path: str, topic: str) -> tuple[int, int]:
    return raw_image_info(msg, path, topic)[:2] if kind == Kind.IMAGE else compressed_size(msg, path, topic)


def image_rgb(kind: Kind, msg: Any, path: str, topic: str) -> np.ndarray:
    return raw_image_rgb(msg, path, topic) if kind == Kind.IMAGE else compressed_rgb(msg, path, topic)


# --- topic names ---------------------------------------------------------------------------------

# Name parts that say "an image" rather than which camera.
_GENERIC = {
    "camera",
    "cameras",
    "cam",
    "image",
    "images",
    "image_raw",
    "image_color",
    "image_rect",
    "image_rect_color",
    "compressed",
    "raw",
    "compresseddepth",
    "theora",
    "zstd",
}


def camera_names(topics: Sequence[str]) -> dict[str, str]:
    """Camera name -> topic for the given image topics: the topic's parts less generic words joined by
    "_" ('/camera/front/image_raw/compressed' -> 'front'); repeats get "_2", "_3" in topic order."""
    names: dict[str, str] = {}
    for topic in sorted(topics):
        parts = [p for p in topic.split("/") if p]
        kept = [p for p in parts if p.lower() not in _GENERIC] or parts[-1:] or ["camera"]
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(kept))
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names[name] = topic
    return names


def named_like(topic: str, word: str) -> bool:
    """True when the topic's last name part contains `word` ('/robot/action_cmd' is like 'action')."""
    return word in topic.rstrip("/").rpartition("/")[2].lower()
