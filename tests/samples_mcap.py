"""Write robot recordings as plain MCAP files with the mcap library's writers, in one of three message
encodings: "ros2" (CDR with ros2msg schemas, mcap-ros2-support's writer), "protobuf" (mcap-protobuf-
support's writer; foxglove.RawImage / foxglove.CompressedImage and JointState-, array- and string-shaped
messages of a sample package) or "json" (mcap's writer with jsonschema schemas; bytes as base64, as
Foxglove writes them). The content is `tests.samples_rosbag.recording` (deterministic): the same
topics, times and values whatever the encoding, so the readers can be compared.

Stamps: ros2 and JSON JointState carry `header.stamp`, protobuf messages and foxglove images a
`timestamp`; actions and tasks carry none (log time). `/diagnostics_rate` (a counter) is in every file
and maps to nothing; JSON files also hold `/notes`, a channel without a schema.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, timestamp_pb2
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from mcap.writer import Writer as McapWriter
from mcap_protobuf.writer import Writer as ProtobufWriter
from mcap_ros2.writer import Writer as Ros2Writer

from tests.samples_rosbag import Event, recording, typestore

_F = descriptor_pb2.FieldDescriptorProto
# (file, package, message, [(field, number, type, repeated, message type)]): foxglove's own field numbers.
_PROTO_FILES = [
    (
        "foxglove/RawImage.proto",
        "foxglove",
        "RawImage",
        [
            ("timestamp", 1, _F.TYPE_MESSAGE, False, ".google.protobuf.Timestamp"),
            ("frame_id", 7, _F.TYPE_STRING, False, None),
            ("width", 2, _F.TYPE_FIXED32, False, None),
            ("height", 3, _F.TYPE_FIXED32, False, None),
            ("encoding", 4, _F.TYPE_STRING, False, None),
            ("step", 5, _F.TYPE_FIXED32, False, None),
            ("data", 6, _F.TYPE_BYTES, False, None),
        ],
    ),
    (
        "foxglove/CompressedImage.proto",
        "foxglove",
        "CompressedImage",
        [
            ("timestamp", 1, _F.TYPE_MESSAGE, False, ".google.protobuf.Timestamp"),
            ("frame_id", 4, _F.TYPE_STRING, False, None),
            ("data", 2, _F.TYPE_BYTES, False, None),
            ("format", 3, _F.TYPE_STRING, False, None),
        ],
    ),
    (
        "samples/JointState.proto",
        "samples",
        "JointState",
        [
            ("timestamp", 1, _F.TYPE_MESSAGE, False, ".google.protobuf.Timestamp"),
            ("name", 2, _F.TYPE_STRING, True, None),
            ("position", 3, _F.TYPE_DOUBLE, True, None),
            ("velocity", 4, _F.TYPE_DOUBLE, True, None),
            ("effort", 5, _F.TYPE_DOUBLE, True, None),
        ],
    ),
    ("samples/Action.proto", "samples", "Action", [("data", 1, _F.TYPE_DOUBLE, True, None)]),
    ("samples/Task.proto", "samples", "Task", [("data", 1, _F.TYPE_STRING, False, None)]),
    ("samples/Counter.proto", "samples", "Counter", [("count", 1, _F.TYPE_UINT32, False, None)]),
]
# ROS 2 type of the recording -> the protobuf / JSON schema written for it.
SCHEMAS = {
    "sensor_msgs/msg/Image": "foxglove.RawImage",
    "sensor_msgs/msg/CompressedImage": "foxglove.CompressedImage",
    "sensor_msgs/msg/JointState": "samples.JointState",
    "std_msgs/msg/Float64MultiArray": "samples.Action",
    "std_msgs/msg/String": "samples.Task",
    "std_msgs/msg/UInt32": "samples.Counter",
}
_TIME = {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}}
_JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "foxglove.RawImage": {
        "timestamp": _TIME,
        "frame_id": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "encoding": {"type": "string"},
        "step": {"type": "integer"},
        "data": {"type": "string", "contentEncoding": "base64"},
    },
    "foxglove.CompressedImage": {
        "timestamp": _TIME,
        "frame_id": {"type": "string"},
        "format": {"type": "string"},
        "data": {"type": "string", "contentEncoding": "base64"},
    },
    "samples.JointState": {
        "header": {"type": "object"},
        "name": {"type": "array", "items": {"type": "string"}},
        "position": {"type": "array", "items": {"type": "number"}},
        "velocity": {"type": "array", "items": {"type": "number"}},
        "effort": {"type": "array", "items": {"type": "number"}},
    },
    "samples.Action": {"data": {"type": "array", "items": {"type": "number"}}},
    "samples.Task": {"data": {"type": "string"}},
    "samples.Counter": {"count": {"type": "integer"}},
}
_classes: dict[str, Any] = {}


def protobuf_classes() -> dict[str, Any]:
    """Message classes for SCHEMAS' protobuf names, built from descriptors (no generated code)."""
    if not _classes:
        pool = DescriptorPool()
        timestamp = descriptor_pb2.FileDescriptorProto()
        timestamp_pb2.DESCRIPTOR.CopyToProto(timestamp)
        pool.Add(timestamp)
        for file, package, message, fields in _PROTO_FILES:
            proto = descriptor_pb2.FileDescriptorProto(name=file, package=package, syntax="proto3")
            proto.dependency.append("google/protobuf/timestamp.proto")
            described = proto.message_type.add(name=message)
            for name, number, kind, repeated, type_name in fields:
                label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
                added = described.field.add(name=name, number=number, type=kind, label=label)
                if type_name:
                    added.type_name = type_name
            pool.Add(proto)
            _classes[f"{package}.{message}"] = GetMessageClass(
                pool.FindMessageTypeByName(f"{package}.{message}")
            )
    return _classes


def _stamp(ns: int) -> tuple[int, int]:
    return divmod(ns, 1_000_000_000)


def _protobuf_message(event: Event) -> Any:
    cls = protobuf_classes()[SCHEMAS[event.msgtype]]
    fields = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in event.fields.items()}
    fields.pop("is_bigendian", None)
    if event.msgtype == "std_msgs/msg/UInt32":
        fields = {"count": fields["data"]}
    message = cls(**fields)
    if event.msgtype in (
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/JointState",
    ):
        # The Timestamp class of this pool is not timestamp_pb2's: set its fields.
        message.timestamp.seconds, message.timestamp.nanos = _stamp(event.stamp)
    return message


def _json_message(event: Event) -> dict[str, Any]:
    fields = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in event.fields.items()}
    sec, nsec = _stamp(event.stamp)
    if event.msgtype == "sensor_msgs/msg/JointState":
        fields["header"] = {"stamp": {"sec": sec, "nanosec": nsec}, "frame_id": "base"}
    elif event.msgtype in ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"):
        fields["timestamp"] = {"sec": sec, "nsec": nsec}
        fields["data"] = base64.b64encode(fields["data"]).decode()
        fields.pop("is_bigendian", None)
    elif event.msgtype == "std_msgs/msg/UInt32":
        fields = {"count": fields["data"]}
    return fields


def _ros2_message(event: Event) -> dict[str, Any]:
    fields = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in event.fields.items()}
    if event.msgtype in (
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/JointState",
    ):
        sec, nanosec = _stamp(event.stamp)
        fields["header"] = {"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": "base"}
    if event.msgtype == "std_msgs/msg/Float64MultiArray":
        fields["layout"] = {"dim": [], "data_offset": 0}
    return fields


def write_mcap(
    path: Path,
    encoding: str = "ros2",
    episode: int = 0,
    chunk_size: int = 256 * 1024,
    writer_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Path:
    """One plain MCAP file of `recording(episode, **kwargs)` in `encoding` ("ros2", "protobuf", "json").
    `writer_options` go to mcap's Writer (JSON only), e.g. {"use_chunking": False, "use_statistics": False}
    for a file without chunk indexes or message counts."""
    events = recording(episode=episode, **kwargs)
    with path.open("wb") as f:
        if encoding == "ros2":
            writer: Any = Ros2Writer(f, chunk_size=chunk_size)
            schemas = {}
            for event in events:
                if event.msgtype not in schemas:
                    text = typestore(False).generate_msgdef(event.msgtype, ros_version=2)[0]
                    schemas[event.msgtype] = writer.register_msgdef(event.msgtype, text)
                writer.write_message(
                    event.topic, schemas[event.msgtype], _ros2_message(event), event.log, event.log
                )
        elif encoding == "protobuf":
            writer = ProtobufWriter(f, chunk_size=chunk_size)
            for event in events:
                writer.write_message(event.topic, _protobuf_message(event), event.log, event.log)
        elif encoding == "json":
            writer = McapWriter(f, chunk_size=chunk_size, **(writer_options or {}))
            writer.start(profile="", library="annograph tests")
            channels: dict[str, int] = {}
            for event in events:
                if event.topic not in channels:
                    name = SCHEMAS[event.msgtype]
                    schema = {"type": "object", "properties": _JSON_SCHEMAS[name]}
                    schema_id = writer.register_schema(name, "jsonschema", json.dumps(schema).encode())
                    channels[event.topic] = writer.register_channel(event.topic, "json", schema_id)
                data = json.dumps(_json_message(event)).encode()
                writer.add_message(channels[event.topic], event.log, data, event.log)
            notes = writer.register_channel("/notes", "json", 0)
            writer.add_message(notes, events[0].log, b'{"text": "no schema"}', events[0].log)
        else:
            raise ValueError(f"unknown encoding {encoding!r}")
        writer.finish()
    return path


def write_mcap_dataset(
    folder: Path, episodes: int = 3, encoding: str = "ros2", names: Sequence[str] | None = None, **kwargs: Any
) -> Path:
    """`episodes` MCAP files named episode_000.mcap ... (or `names`) in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for episode in range(episodes):
        name = names[episode] if names else f"episode_{episode:03d}.mcap"
        write_mcap(folder / name, encoding, episode, **kwargs)
    return folder
