"""ROS bags as datasets (format "ROSBAG"), read with the rosbags library's AnyReader.

A dataset is a folder of bags or one bag: a ROS 1 `.bag` file, or a rosbag2 folder (`metadata.yaml`
beside sqlite3 `.db3` or `.mcap` storage files; registering one storage file of such a folder reads
the folder). One bag is one episode; its index is the number in its name when all bags have distinct
numbers, else its position in numeric name order.

Topics: sensor_msgs/JointState -> observation.state / velocity / gripper, sensor_msgs/Image (rgb8,
bgr8, rgba8, bgra8, mono8, mono16) and sensor_msgs/CompressedImage (JPEG, PNG) -> cameras,
std_msgs/Float64MultiArray or Float32MultiArray named like "action" -> action, std_msgs/String named
like "task" -> the task; every stream is resampled onto one clock (`ros_plan.py` says how, `Options`
what can be chosen). Message definitions come from the bag (rosbag2 bags without any fall back to
rosbags' latest ROS 2 types). Header stamps are read from the serialised bytes (`raw_stamp`), so a
scan never deserialises camera payloads; frames are read back through the bag index by log-time window
(`AnyReader.messages(connections, start, stop)`) and only the asked messages are deserialised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection
from rosbags.typesys import Stores, get_typestore

from persistence.episode_sources.base import DatasetScan, EpisodeScan, SourceError, SourceRef
from persistence.episode_sources.ros_episodes import bag_entries, scan_dataset
from persistence.episode_sources.ros_reader import StreamEpisode
from persistence.episode_sources.ros_streams import StreamOptions, Topic, raw_stamp, ros_kind
from persistence.video_files import VideoFileCache

FORMAT = "ROSBAG"
_ROS1_MAGIC = b"#ROSBAG V2.0"
_STORAGE_SUFFIXES = (".db3", ".mcap")
# Used only by rosbag2 bags that carry no message definitions at all (old sqlite3 bags).
_DEFAULT_TYPES = get_typestore(Stores.LATEST)


class Options(StreamOptions):
    """Which topics are what, and the clock; every field defaults to what the bags say."""


def _bag_folder(path: Path) -> Path | None:
    """The rosbag2 folder of a storage file inside one."""
    if path.suffix in _STORAGE_SUFFIXES and path.is_file() and (path.parent / "metadata.yaml").is_file():
        return path.parent
    return None


def _named_bag(path: Path) -> bool:
    """A bag by its name: a `.bag` file or a folder with metadata.yaml (contents checked on opening)."""
    return (path.is_file() and path.suffix == ".bag") or (
        path.is_dir() and (path / "metadata.yaml").is_file()
    )


def _looks_like_bag(path: Path) -> bool:
    if path.is_dir():
        return (path / "metadata.yaml").is_file()
    if path.suffix == ".bag" and path.is_file():
        with path.open("rb") as f:
            return f.read(len(_ROS1_MAGIC)) == _ROS1_MAGIC
    return False


def detect(path: Path) -> bool:
    """A ROS 1 bag (by its first bytes), a rosbag2 folder or one of its storage files, or a folder
    holding any of these."""
    try:
        if _looks_like_bag(path) or _bag_folder(path):
            return True
        return path.is_dir() and any(_looks_like_bag(p) for p in path.iterdir() if not p.name.startswith("."))
    except OSError:
        return False


def _has_header(typestore: Any, msgtype: str) -> bool:
    """Whether the type's first field is a std_msgs/Header (whose stamp `raw_stamp` can read)."""
    fields = typestore.fielddefs.get(msgtype, ((), ()))[1]
    return bool(fields) and fields[0][0] == "header" and fields[0][1][1] == "std_msgs/msg/Header"


class RosBag:
    """One bag opened with AnyReader, as a `ros_episodes.Bag`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        folder = _bag_folder(path) or path
        try:
            reader = AnyReader([folder], default_typestore=_DEFAULT_TYPES)
            reader.open()
        except Exception as err:  # rosbags' own errors, but also OSError, YAML and sqlite errors
            raise SourceError(path, f"not a readable bag: {err}") from None
        self._reader = reader
        self.ros1 = not reader.is2
        self._connections: dict[str, list[Connection]] = {}
        for connection in reader.connections:
            self._connections.setdefault(connection.topic, []).append(connection)
        self._header = {t: _has_header(reader.typestore, c[0].msgtype) for t, c in self._connections.items()}
        self.format_version = "ROS 1 bag 2.0" if self.ros1 else self._rosbag2_version(folder)

    @staticmethod
    def _rosbag2_version(folder: Path) -> str:
        try:
            info = yaml.safe_load((folder / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
            return f"rosbag2 v{info['version']} ({info['storage_identifier']})"
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return "rosbag2"

    def topics(self) -> dict[str, Topic]:
        out = {}
        for topic, connections in self._connections.items():
            types = sorted({c.msgtype for c in connections})
            encoding = "ros1" if self.ros1 else getattr(connections[0].ext, "serialization_format", "cdr")
            kind = ros_kind(types[0]) if len(types) == 1 else None  # several types on one topic: unmapped
            out[topic] = Topic(topic, " | ".join(types), sum(c.msgcount for c in connections), kind, encoding)
        return out

    def iter_raw(
        self, topics: Sequence[str], start: int | None = None, stop: int | None = None
    ) -> Iterator[tuple[str, int, Any]]:
        connections = [c for t in topics for c in self._connections.get(t, [])]
        if not connections:  # AnyReader reads every topic when given none
            return
        try:
            for connection, log, raw in self._reader.messages(connections, start, stop):
                yield connection.topic, log, raw
        except Exception as err:  # a corrupt chunk or database: name the file and topics
            raise SourceError(self.path, f"cannot read messages: {err}", ", ".join(topics)) from None

    def stamp(self, topic: str, raw: Any) -> tuple[int, str]:
        return (raw_stamp(raw, self.ros1), "header.stamp") if self._header.get(topic) else (0, "")

    def decode(self, topic: str, raw: Any) -> Any:
        msgtype = self._connections[topic][0].msgtype
        try:
            return self._reader.deserialize(raw, msgtype)
        except Exception as err:  # rosbags raises AnyReaderError, but also struct / index errors
            raise SourceError(self.path, f"cannot deserialise a {msgtype} message: {err}", topic) from None

    def close(self) -> None:
        self._reader.close()


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    """Scan a bag or a folder of bags (SourceError when it holds none)."""
    entries = [("", path)] if _bag_folder(path) else bag_entries(path, _named_bag)
    if not entries:
        raise SourceError(path, "no ROS bag here (a .bag file or a rosbag2 folder with metadata.yaml)")
    return scan_dataset(path, FORMAT, entries, RosBag, options, previous, progress)


def open_episode(ref: SourceRef, videos: VideoFileCache) -> StreamEpisode:
    """The bag's episode; `videos` is unused (bags hold their frames)."""
    return StreamEpisode(ref, RosBag)
