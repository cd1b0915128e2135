"""Which topic of a dataset of bags is what, and the clock (shared by the ROSBAG and MCAP readers); what
the dataset then says about itself: its features, its mapping of every topic, its clock text.

Plan (one per dataset, from the topics of all bags; `make_plan`):
- state: `state_topic`, else the one JointState topic (several: SourceError asking to choose);
- action / task: `action_topic` / `task_topic`, else the one array / string topic named like it;
- cameras: `cameras`, else every Image / CompressedImage topic, named from its topic;
- clock: `fps` (ticks every 1/fps s from the earliest to the latest message of the mapped topics), else
  `clock_topic`, else the camera topic with the most messages (ties by name), else the JointState
  topic. Each message of a clock topic is one frame (ticks sorted by time).
Streams on the clock: state, velocity, gripper, action and task take the latest message at or before
each tick (zero-order hold; ticks before the first message take the first); frame n of a camera is the
camera's message nearest tick n. `timestamp` = tick - first tick (float64 s). Dataset fps: clock
messages / clock duration over all bags (sum of (N - 1) / sum of spans, the mean rate); an episode's
duration is N / its own rate.

Joint state: position -> observation.state (all joints, in JointState.name order: the union of names in
first-seen order when publishers send partial joint sets, each joint held on its own), velocity ->
observation.velocity (when any message has it; NaN where a message has none), joints whose name
contains "gripper" -> observation.gripper as well (N for one, N x G for several); effort is unmapped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from persistence.episode_sources.base import EpisodeScan, FieldMapping, SourceError
from persistence.episode_sources.ros_streams import (
    CAMERA_KINDS,
    KIND_TYPES,
    Kind,
    StreamOptions,
    Topic,
    camera_names,
    named_like,
)


@dataclass
class Plan:
    state: str | None
    action: str | None
    task: str | None
    cameras: dict[str, str]  # camera name -> topic
    clock: str | None  # topic whose messages are the frames; None with fps
    clock_role: str  # "camera", "topic", "joint states" or "fixed rate"
    fps: float | None

    def roles(self) -> dict[str, tuple[Kind, ...]]:
        """Configured topic -> the kinds it may have."""
        roles: dict[str, tuple[Kind, ...]] = {t: CAMERA_KINDS for t in self.cameras.values()}
        for topic, kind in (
            (self.state, Kind.JOINT_STATE),
            (self.action, Kind.ARRAY),
            (self.task, Kind.STRING),
        ):
            if topic:
                roles[topic] = (kind,)
        return roles


# --- plan -------------------------------------------------------------------------------------------


def make_plan(path: Path, topics_by_file: Mapping[str, Mapping[str, Topic]], options: StreamOptions) -> Plan:
    """The plan for bags `topics_by_file` (file -> its topics); SourceError naming the topic (and the file
    where it has the wrong type) for a given topic that is missing or of another type, or when a default
    is ambiguous."""
    merged: dict[str, Topic] = {}
    for topics in topics_by_file.values():
        for name, topic in topics.items():
            if name in merged:
                merged[name] = replace(merged[name], count=merged[name].count + topic.count)
            else:
                merged[name] = topic
    listing = ", ".join(sorted(merged)) or "none"

    def require(topic: str, kinds: tuple[Kind, ...], role: str) -> str:
        if topic not in merged:
            raise SourceError(
                path, f"no topic {topic!r} for the {role} in any bag (topics: {listing})", topic
            )
        for file, topics in topics_by_file.items():
            if topic in topics and topics[topic].kind not in kinds:
                expected = " or ".join(KIND_TYPES[k] for k in kinds)
                raise SourceError(
                    path / file,
                    f"the {role} topic has type {topics[topic].msgtype}, expected {expected}",
                    topic,
                )
        return topic

    def pick(given: str | None, kind: Kind, word: str | None, option: str, role: str) -> str | None:
        """The given topic (checked), else the one topic of `kind` named like `word` (None: any name)."""
        if given:
            return require(given, (kind,), role)
        found = sorted(
            t for t, v in merged.items() if v.kind == kind and (word is None or named_like(t, word))
        )
        if len(found) > 1:
            raise SourceError(path, f"several {role} topics ({', '.join(found)}): choose one with {option}")
        return found[0] if found else None

    o = options
    state = pick(o.state_topic, Kind.JOINT_STATE, None, "state_topic", "JointState")
    action = pick(o.action_topic, Kind.ARRAY, "action", "action_topic", "action")
    task = pick(o.task_topic, Kind.STRING, "task", "task_topic", "task")
    if o.cameras is not None:
        cameras = {name: require(t, CAMERA_KINDS, f"camera {name!r}") for name, t in o.cameras.items()}
    else:
        cameras = camera_names([t for t, v in merged.items() if v.kind in CAMERA_KINDS])
    if o.fps is not None:
        clock, role = None, "fixed rate"
    elif o.clock_topic:
        if o.clock_topic not in merged:
            raise SourceError(
                path, f"no clock topic {o.clock_topic!r} in any bag (topics: {listing})", o.clock_topic
            )
        clock, role = o.clock_topic, "topic"
    elif cameras:
        clock = min(cameras.values(), key=lambda t: (-merged[t].count, t))
        role = "camera"
    elif state:
        clock, role = state, "joint states"
    else:
        raise SourceError(
            path,
            f"no camera or JointState topic to take a clock from (topics: {listing}): set fps or clock_topic",
        )
    return Plan(state, action, task, cameras, clock, role, o.fps)


# --- what the dataset says about itself ---------------------------------------------------------------


def _first(episodes: Sequence[EpisodeScan], key: str) -> Any:
    return next((e.locator[key] for e in episodes if e.locator[key]), None)


def _grippers(joint_names: Sequence[str]) -> list[str]:
    return [j for j in joint_names if "gripper" in j.lower()]


def features(plan: Plan, episodes: Sequence[EpisodeScan], joint_names: list[str]) -> dict:
    """Standard name -> dtype, per-frame shape, the topic it came from (and joint names)."""
    feats: dict[str, dict] = {
        "timestamp": {"dtype": "float64", "shape": [1], "unit": "s", "topic": plan.clock}
    }
    if joint_names:
        state = {"dtype": "float64", "shape": [len(joint_names)], "names": joint_names, "topic": plan.state}
        feats["observation.state"] = state
        if _first(episodes, "velocity"):
            feats["observation.velocity"] = {**state}
        if grippers := _grippers(joint_names):
            feats["observation.gripper"] = {
                "dtype": "float64",
                "shape": [len(grippers)] if len(grippers) > 1 else [1],
                "names": grippers,
                "topic": plan.state,
            }
    if action := _first(episodes, "action"):
        feats["action"] = {"dtype": action[1], "shape": [action[0]], "topic": plan.action}
    if _first(episodes, "tasks"):
        feats["task_index"] = {"dtype": "int64", "shape": [1], "topic": plan.task}
    for name, topic in plan.cameras.items():
        size = next((e.locator["cameras"][name] for e in episodes if name in e.locator["cameras"]), None)
        if size:
            feats[f"observation.images.{name}"] = {"dtype": "image", "shape": [*size, 3], "topic": topic}
    return feats


def mapping(
    plan: Plan,
    episodes: Sequence[EpisodeScan],
    topics_by_file: Mapping[str, Mapping[str, Topic]],
    joint_names: list[str],
) -> list[FieldMapping]:
    """Every topic of every bag: what it became, or why nothing (counts summed over the bags)."""
    merged: dict[str, tuple[Topic, int]] = {}
    for topics in topics_by_file.values():
        for name, topic in topics.items():
            have, bags = merged.get(name, (None, 0))
            merged[name] = (replace(have, count=have.count + topic.count) if have else topic, bags + 1)
    cameras = {topic: name for name, topic in plan.cameras.items()}
    joints = len(joint_names)
    out: list[FieldMapping] = []
    for name in sorted(merged):
        topic, bags = merged[name]
        said = f"{topic.msgtype} ({topic.encoding}), {topic.count} messages in {bags} bag(s)"
        said += "; the clock: one frame per message" if name == plan.clock else ""
        held = f"{said}; latest message at or before each frame"
        if name == plan.state:
            velocity = bool(_first(episodes, "velocity"))
            out.append(
                FieldMapping(
                    f"{name}.position",
                    "observation.state",
                    [joints],
                    "float64",
                    f"{held}; columns are JointState.name",
                )
            )
            out.append(
                FieldMapping(
                    f"{name}.velocity",
                    "observation.velocity" if velocity else None,
                    [joints],
                    "float64",
                    held if velocity else f"{said}; empty in every message",
                )
            )
            if grippers := _grippers(joint_names):
                out.append(
                    FieldMapping(
                        f"{name}.position[{', '.join(grippers)}]",
                        "observation.gripper",
                        [len(grippers)] if len(grippers) > 1 else [],
                        "float64",
                        f"{held}; joints named like 'gripper' (also in observation.state)",
                    )
                )
            out.append(
                FieldMapping(
                    f"{name}.effort",
                    None,
                    [joints],
                    "float64",
                    f"{said}; joint efforts have no standard name",
                )
            )
        elif name == plan.action:
            action = _first(episodes, "action") or [None, None]
            out.append(
                FieldMapping(
                    name,
                    "action",
                    [action[0]] if action[0] is not None else None,
                    action[1],
                    f"{held}; data flattened (layout not applied)",
                )
            )
        elif name == plan.task:
            out.append(
                FieldMapping(name, "task", [], "str", f"{held}; each text one task, per frame task_index")
            )
        elif name in cameras:
            size = next(
                (
                    e.locator["cameras"][cameras[name]]
                    for e in episodes
                    if cameras[name] in e.locator["cameras"]
                ),
                None,
            )
            how = "JPEG/PNG decoded by Pillow" if topic.kind == Kind.COMPRESSED_IMAGE else "converted to RGB"
            out.append(
                FieldMapping(
                    name,
                    f"camera:{cameras[name]}",
                    [*size, 3] if size else None,
                    "uint8",
                    f"{said}; frame n is the message nearest the frame's time; {how}",
                )
            )
        else:
            why = {
                None: "a message type this reader does not map",
                Kind.JOINT_STATE: "not the state topic (set state_topic)",
                Kind.ARRAY: "not the action topic (set action_topic)",
                Kind.STRING: "not the task topic (set task_topic)",
                Kind.IMAGE: "not among the cameras option's topics",
                Kind.COMPRESSED_IMAGE: "not among the cameras option's topics",
            }[topic.kind]
            out.append(FieldMapping(name, None, None, None, f"{said}; {why}"))
    return out


def clock_text(plan: Plan, episodes: Sequence[EpisodeScan], fps: float) -> str:
    """How the streams were put on one clock, and which times were used (e.g. "camera /cam/front/image_raw,
    15.0 Hz mean; times from header.stamp (log time for /action, /task)")."""
    if plan.clock_role == "fixed rate":
        head = f"fixed rate {fps:g} Hz (fps option) from the earliest message"
    elif plan.clock_role == "joint states":
        head = f"joint states {plan.clock} (no camera), {fps:.1f} Hz mean"
    else:
        head = f"{plan.clock_role} {plan.clock}, {fps:.1f} Hz mean"
    sources: dict[str, str] = {}
    for episode in episodes:
        for topic, source in episode.locator["stamps"].items():
            if sources.get(topic, source) != source:
                source = "mixed"  # header stamps in some bags, log times in others
            sources[topic] = source
    if not sources:
        return head
    values = list(sources.values())
    main = sources.get(plan.clock or "") or max(set(values), key=values.count)
    others: dict[str, list[str]] = {}
    for topic, source in sorted(sources.items()):
        if source != main:
            others.setdefault(source, []).append(topic)
    rest = "; ".join(f"{source} for {', '.join(topics)}" for source, topics in others.items())
    return f"{head}; times from {main}" + (f" ({rest})" if rest else "")
