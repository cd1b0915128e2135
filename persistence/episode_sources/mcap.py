"""Plain MCAP files as datasets (format "MCAP"), read with the `mcap` library and its ROS 2 and protobuf
decoders. An MCAP file inside a rosbag2 folder (beside metadata.yaml) is a ROSBAG, not this.

A dataset is one `.mcap` file or a folder of them; one file is one episode (index from the number in
its name when all are distinct, else the position in numeric name order). The messages of a channel
are understood by (message encoding, schema encoding, schema):
- cdr + ros2msg: sensor_msgs/msg/JointState, Image, CompressedImage, std_msgs/msg/Float64MultiArray,
  Float32MultiArray, String (decoded by mcap-ros2-support; header stamps read from the raw CDR bytes);
- protobuf + protobuf, or json + jsonschema: foxglove.RawImage and foxglove.CompressedImage (by schema
  name; JSON `data` is base64 as Foxglove writes it, `timestamp` is {sec, nsec} or protobuf's
  google.protobuf.Timestamp), and messages by their fields: JointState-shaped (repeated/array `name` and
  `position`, optional `velocity`, optional `header.stamp` or `timestamp`), image-shaped (`width`,
  `height`, `encoding`, `data`; or `format`, `data`), an array `data` (an action) or a string `data`
  (a task);
- anything else (other schemas, channels without a schema, other encodings) is an unmapped topic in
  the scan's mapping.
What each becomes, and the resampling onto one clock, is the ROSBAG format's (`ros_plan.py`); the
clock's "log time" is the MCAP message's log_time. A scan reads CDR stamps from the raw bytes but has
to decode protobuf and JSON messages of the clock and camera topics to find theirs. Frames are read
back through the chunk index by log-time window (`iter_messages(topics, starting_at, ending_before)`),
decoding only the asked messages.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mcap.reader import McapReader, make_reader
from mcap.records import Channel, Message, Schema
from mcap.stream_reader import StreamReader
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoders
from mcap_ros2.decoder import DecoderFactory as Ros2Decoders

from persistence.episode_sources.base import DatasetScan, EpisodeScan, SourceError, SourceRef
from persistence.episode_sources.ros_episodes import bag_entries, scan_dataset
from persistence.episode_sources.ros_reader import StreamEpisode
from persistence.episode_sources.ros_streams import (
    Kind,
    StreamOptions,
    Topic,
    message_stamp,
    raw_stamp,
    ros_kind,
)
from persistence.video_files import VideoFileCache

FORMAT = "MCAP"
MAGIC = b"\x89MCAP0\r\n"
FOXGLOVE_KINDS = {"foxglove.RawImage": Kind.IMAGE, "foxglove.CompressedImage": Kind.COMPRESSED_IMAGE}
# mcap >= 1.5 names the log-time bounds starting_at / ending_before and deprecates start_time / end_time
# (same meaning: [start, end)); older versions have only the latter.
_BOUNDS = ("starting_at", "ending_before")
_ITER_PARAMETERS = inspect.signature(McapReader.iter_messages).parameters
_HEADER_FIELD = re.compile(r"^(std_msgs/(msg/)?)?Header\s+header$")


class Options(StreamOptions):
    """Which topics are what, and the clock; every field defaults to what the files say."""


def _plain_mcap(path: Path) -> bool:
    return path.suffix == ".mcap" and path.is_file() and not (path.parent / "metadata.yaml").exists()


def _has_magic(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def detect(path: Path) -> bool:
    """An `.mcap` file starting with the MCAP magic and not in a rosbag2 folder, or a folder (without
    metadata.yaml) holding one."""
    try:
        if path.is_file():
            return _plain_mcap(path) and _has_magic(path)
        return (
            path.is_dir()
            and not (path / "metadata.yaml").exists()
            and any(_plain_mcap(p) and _has_magic(p) for p in path.iterdir() if not p.name.startswith("."))
        )
    except OSError:
        return False


def _shape_kind(fields: Mapping[str, str]) -> Kind | None:
    """The kind of a protobuf / JSON schema by its fields (name -> "array", "string", "bytes", ...)."""
    if fields.get("name") == "array" and fields.get("position") == "array":
        return Kind.JOINT_STATE
    if {"width", "height", "encoding", "data"} <= fields.keys():
        return Kind.IMAGE
    if {"format", "data"} <= fields.keys():
        return Kind.COMPRESSED_IMAGE
    return {"array": Kind.ARRAY, "string": Kind.STRING}.get(fields.get("data", ""))


def _json_fields(schema: Schema) -> dict[str, str]:
    try:
        properties = json.loads(schema.data).get("properties", {})
    except (ValueError, AttributeError):
        return {}
    return {name: str(value.get("type", "")) for name, value in properties.items() if isinstance(value, dict)}


def _protobuf_fields(decoder: Callable[[bytes], Any]) -> dict[str, str]:
    descriptor = decoder(b"").DESCRIPTOR  # an empty message of the schema's class
    fields = {}
    for f in descriptor.fields:
        repeated = f.is_repeated if hasattr(f, "is_repeated") else f.label == f.LABEL_REPEATED
        scalar = {f.TYPE_STRING: "string", f.TYPE_BYTES: "bytes", f.TYPE_MESSAGE: "object"}.get(
            f.type, "number"
        )
        fields[f.name] = "array" if repeated else scalar
    return fields


def _ros2msg_header(schema: Schema) -> bool:
    """Whether a ros2msg definition's first field is `std_msgs/Header header`."""
    for line in schema.data.decode(errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return bool(_HEADER_FIELD.match(line))
    return False


class McapFile:
    """One MCAP file, as a `ros_episodes.Bag`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = path.open("rb")
        except OSError as err:
            raise SourceError(path, f"cannot open: {err}") from None
        try:
            self._reader: McapReader = make_reader(self._file)
            self.format_version = f"MCAP 0, profile {self._reader.get_header().profile or 'none'}"
            self._index()
        except SourceError:
            self._file.close()
            raise
        except Exception as err:  # the mcap library raises McapError, struct and EOF errors
            self._file.close()
            raise SourceError(path, f"not a readable MCAP file: {err}") from None
        self._ros2, self._protobuf = Ros2Decoders(), ProtobufDecoders()
        self._decoders: dict[int, Callable[[bytes], Any]] = {}

    def _index(self) -> None:
        """Schemas, channels and message counts: from the summary, else (an unindexed file) one pass."""
        summary = self._reader.get_summary()
        self._schemas: dict[int, Schema] = dict(summary.schemas) if summary else {}
        self._channels: dict[int, Channel] = dict(summary.channels) if summary else {}
        if summary and summary.statistics:
            self._counts = Counter(summary.statistics.channel_message_counts)
            return
        self._counts = Counter()
        self._file.seek(0)
        for record in StreamReader(self._file).records:
            if isinstance(record, Schema):
                self._schemas[record.id] = record
            elif isinstance(record, Channel):
                self._channels[record.id] = record
            elif isinstance(record, Message):
                self._counts[record.channel_id] += 1

    def _decoder(self, channel_id: int) -> Callable[[bytes], Any]:
        if channel_id in self._decoders:
            return self._decoders[channel_id]
        channel = self._channels[channel_id]
        schema = self._schemas.get(channel.schema_id)
        decoder: Callable[[bytes], Any] | None = json.loads if channel.message_encoding == "json" else None
        try:
            decoder = decoder or self._ros2.decoder_for(channel.message_encoding, schema)
            decoder = decoder or self._protobuf.decoder_for(channel.message_encoding, schema)
        except Exception as err:  # a schema the decoders cannot parse
            raise SourceError(
                self.path, f"cannot use schema {schema and schema.name!r}: {err}", channel.topic
            ) from None
        if decoder is None:
            raise SourceError(
                self.path, f"no decoder for message encoding {channel.message_encoding!r}", channel.topic
            )
        self._decoders[channel_id] = decoder
        return decoder

    def _kind(self, channel: Channel) -> Kind | None:
        schema = self._schemas.get(channel.schema_id)
        if schema is None:
            return None
        pair = (channel.message_encoding, schema.encoding)
        if pair == ("cdr", "ros2msg"):
            return ros_kind(schema.name)
        if pair not in (("protobuf", "protobuf"), ("json", "jsonschema")):
            return None
        if schema.name in FOXGLOVE_KINDS:
            return FOXGLOVE_KINDS[schema.name]
        if pair == ("json", "jsonschema"):
            return _shape_kind(_json_fields(schema))
        try:
            return _shape_kind(_protobuf_fields(self._decoder(channel.id)))
        except SourceError:
            return None  # a schema protobuf cannot load: unmapped, like any unknown type

    def topics(self) -> dict[str, Topic]:
        by_topic: dict[str, list[Channel]] = {}
        for channel in self._channels.values():
            by_topic.setdefault(channel.topic, []).append(channel)
        out = {}
        for topic, channels in by_topic.items():
            names = sorted(
                {
                    self._schemas[c.schema_id].name if c.schema_id in self._schemas else "no schema"
                    for c in channels
                }
            )
            kinds = {self._kind(c) for c in channels}
            kind = kinds.pop() if len(kinds) == 1 and len(names) == 1 else None  # mixed schemas: unmapped
            encodings = ", ".join(sorted({c.message_encoding for c in channels}))
            out[topic] = Topic(
                topic, " | ".join(names), sum(self._counts[c.id] for c in channels), kind, encodings
            )
        return out

    def iter_raw(
        self, topics: Sequence[str], start: int | None = None, stop: int | None = None
    ) -> Iterator[tuple[str, int, Any]]:
        names = _BOUNDS if "starting_at" in _ITER_PARAMETERS else ("start_time", "end_time")
        # Keyword arguments whose names depend on the mcap version.
        bounds: dict[str, Any] = {k: v for k, v in zip(names, (start, stop), strict=True) if v is not None}
        try:
            for _, channel, message in self._reader.iter_messages(
                list(topics), log_time_order=True, **bounds
            ):
                yield channel.topic, message.log_time, (channel.id, message.data)
        except Exception as err:  # a corrupt chunk: name the file and topics
            raise SourceError(self.path, f"cannot read messages: {err}", ", ".join(topics)) from None

    def stamp(self, topic: str, raw: Any) -> tuple[int, str]:
        channel_id, data = raw
        channel = self._channels[channel_id]
        if channel.message_encoding == "cdr":
            schema = self._schemas.get(channel.schema_id)
            if schema is not None and schema.encoding == "ros2msg" and _ros2msg_header(schema):
                return raw_stamp(data, ros1=False), "header.stamp"
            return 0, ""
        if channel.message_encoding in ("protobuf", "json"):
            return message_stamp(self.decode(topic, raw))
        return 0, ""

    def decode(self, topic: str, raw: Any) -> Any:
        channel_id, data = raw
        decoder = self._decoder(channel_id)
        try:
            return decoder(data)
        except Exception as err:  # CDR, protobuf or JSON that does not parse
            raise SourceError(self.path, f"cannot decode a message: {err}", topic) from None

    def close(self) -> None:
        self._file.close()


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    """Scan an MCAP file or a folder of them (SourceError when it holds none)."""
    if (path / "metadata.yaml").exists() or (path.is_file() and (path.parent / "metadata.yaml").exists()):
        raise SourceError(path, "a rosbag2 bag (metadata.yaml beside it): register it as ROSBAG")
    entries = bag_entries(path, _plain_mcap)
    if not entries:
        raise SourceError(path, "no .mcap file here")
    return scan_dataset(path, FORMAT, entries, McapFile, options, previous, progress)


def open_episode(ref: SourceRef, videos: VideoFileCache) -> StreamEpisode:
    """The file's episode; `videos` is unused (MCAP files hold their frames)."""
    return StreamEpisode(ref, McapFile)
