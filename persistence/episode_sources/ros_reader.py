"""The episode reader of the ROSBAG and MCAP formats: one bag resampled onto its clock (see
`ros_plan.py` for the plan and the resampling rules)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from persistence.episode_sources.base import (
    TASK_INDEX,
    SourceError,
    SourceRef,
    check_frames,
    unknown_camera,
)
from persistence.episode_sources.ros_episodes import (
    LOCATOR_VERSION,
    Bag,
    clock_ticks,
    read_stamps,
    topics_of,
)
from persistence.episode_sources.ros_plan import Plan
from persistence.episode_sources.ros_streams import (
    Stamps,
    float_array,
    hold,
    image_rgb,
    joint_state,
    nearest,
    text,
)

# Needed messages at most this many apart are read in one index window (the ones between are skipped
# without being decoded): fewer index look-ups for runs of frames, little extra reading.
_WINDOW_GAP = 4


def _hold_columns(times: np.ndarray, values: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Zero-order hold of each column on its own (NaN where a message lacks that column)."""
    if not np.isnan(values).any():
        return values[hold(times, ticks)]
    out = np.full((len(ticks), values.shape[1]), np.nan)
    for j in range(values.shape[1]):
        have = ~np.isnan(values[:, j])
        if have.any():
            out[:, j] = values[have, j][hold(times[have], ticks)]
    return out


class StreamEpisode:
    """One bag as an EpisodeReader; opens the bag on first use. The clock ticks and camera stamps (one
    pass over the clock and camera topics, payloads not decoded) and the resampled arrays (one pass over
    state, action and task) are computed once per open reader."""

    def __init__(self, ref: SourceRef, open_bag: Callable[[Path], Bag]) -> None:
        self._ref, self._open_bag = ref, open_bag
        details = ref.details()
        if details.get("version") != LOCATOR_VERSION:
            raise SourceError(ref.path, "the episode was scanned by another reader version: register again")
        self._details = details
        self._plan = Plan(**details["plan"])
        self._topics = topics_of(details)
        self._length = int(details["length"])
        self._bag: Bag | None = None
        self._timeline: tuple[np.ndarray, dict[str, Stamps]] | None = None
        self._arrays: dict[str, np.ndarray] | None = None

    @property
    def length(self) -> int:
        return self._length

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        return {name: (self._length, h, w) for name, (h, w) in self._details["cameras"].items()}

    def _opened(self) -> Bag:
        if self._bag is None:
            self._bag = self._open_bag(self._ref.path)
        return self._bag

    def _clock(self) -> tuple[np.ndarray, dict[str, Stamps]]:
        if self._timeline is None:
            cams = [self._plan.cameras[name] for name in self._details["cameras"]]
            topics = sorted(set(cams) | ({self._plan.clock} if self._plan.clock else set()))
            stamps, _ = read_stamps(self._opened(), topics, lambda t, n: False)
            ticks = clock_ticks(self._plan, stamps, self._details["start"], self._length)
            if len(ticks) != self._length:
                raise SourceError(
                    self._ref.path,
                    f"the clock has {len(ticks)} messages, {self._length} when "
                    "scanned: the bag changed, register it again",
                    self._plan.clock or "",
                )
            self._timeline = ticks, stamps
        return self._timeline

    def _ticks(self) -> np.ndarray:
        if self._plan.clock is None:  # a fixed rate: no need to read the cameras for the arrays
            return clock_ticks(self._plan, {}, self._details["start"], self._length)
        return self._clock()[0]

    def _load(self) -> dict[str, np.ndarray]:
        if self._arrays is not None:
            return self._arrays
        ticks = self._ticks()
        plan, d = self._plan, self._details
        streams = [t for t in (plan.state, plan.action, plan.task) if t and t in self._topics]
        stamps, decoded = read_stamps(self._opened(), streams, lambda t, n: True)
        out: dict[str, np.ndarray] = {"timestamp": (ticks - ticks[0]) / 1e9}

        def on_clock(topic: str) -> tuple[np.ndarray, list[Any]]:
            order = stamps[topic].order
            return stamps[topic].times[order], [decoded[topic][i] for i in order]

        if plan.state in decoded and decoded[plan.state] and d["joints"]:
            out.update(self._joints(*on_clock(plan.state), ticks))
        if plan.action in decoded and decoded[plan.action] and d["action"]:
            times, msgs = on_clock(plan.action)
            dim, dtype = d["action"]
            values = [float_array(m) for m in msgs]
            bad = next((i for i, v in enumerate(values) if v.size != dim), None)
            if bad is not None:
                raise SourceError(
                    self._ref.path,
                    f"action message {bad} has {values[bad].size} values, {dim} expected",
                    plan.action,
                )
            out["action"] = np.stack(values).astype(dtype)[hold(times, ticks)]
        if plan.task in decoded and decoded[plan.task] and d["task_indexes"]:
            times, msgs = on_clock(plan.task)
            known = d["task_indexes"]
            indexes = np.array([known.get(text(m), -1) for m in msgs], dtype=np.int64)
            out[TASK_INDEX] = indexes[hold(times, ticks)]
        self._arrays = out
        return out

    def _joints(self, times: np.ndarray, msgs: list[Any], ticks: np.ndarray) -> dict[str, np.ndarray]:
        """State, velocity and gripper from JointState messages sorted by time."""
        joints: list[str] = self._details["joints"]
        column = {name: j for j, name in enumerate(joints)}
        pos = np.full((len(msgs), len(joints)), np.nan)
        vel = np.full((len(msgs), len(joints)), np.nan)
        for i, msg in enumerate(msgs):
            names, position, velocity = joint_state(msg)
            if len(position) != len(names) or any(n not in column for n in names):
                raise SourceError(
                    self._ref.path,
                    f"a JointState message has {len(names)} names and "
                    f"{len(position)} positions, names {names} (scanned: {joints})",
                    self._plan.state or "",
                )
            cols = [column[n] for n in names]
            pos[i, cols] = position
            if len(velocity) == len(names):
                vel[i, cols] = velocity
        out = {"observation.state": _hold_columns(times, pos, ticks)}
        if self._details["velocity"]:
            out["observation.velocity"] = _hold_columns(times, vel, ticks)
        grippers = [j for j, name in enumerate(joints) if "gripper" in name.lower()]
        if grippers:
            gripper = out["observation.state"][:, grippers]
            out["observation.gripper"] = gripper[:, 0] if len(grippers) == 1 else gripper
        return out

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        arrays = self._load()
        return {name: arrays[name][selection] for name in names if name in arrays}

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        cameras = self._details["cameras"]
        if camera not in cameras:
            raise unknown_camera(camera, list(cameras))
        check_frames(camera, self._length, indices)
        topic = self._plan.cameras[camera]
        ticks, stamps = self._clock()
        s = stamps[topic]
        order = s.order
        wanted = order[nearest(s.times[order], ticks[np.asarray(list(indices), dtype=np.int64)])]
        messages = self._read(topic, s.log, sorted({int(o) for o in wanted}))
        kind = self._topics[topic].mapped_kind()
        return [image_rgb(kind, messages[int(o)], str(self._ref.path), topic) for o in wanted]

    def _read(self, topic: str, log: np.ndarray, ordinals: list[int]) -> dict[int, Any]:
        """Decode the messages of `topic` at these ordinals (log-time order), through index windows."""
        bag, out = self._opened(), {}
        runs: list[list[int]] = []
        for o in ordinals:
            if runs and o - runs[-1][-1] <= _WINDOW_GAP:
                runs[-1].append(o)
            else:
                runs.append([o])
        for run in runs:
            ordinal = int(np.searchsorted(log, log[run[0]], side="left"))  # first one the window yields
            wanted = set(run)
            for _, _, raw in bag.iter_raw([topic], int(log[run[0]]), int(log[run[-1]]) + 1):
                if ordinal in wanted:
                    out[ordinal] = bag.decode(topic, raw)
                if ordinal >= run[-1]:
                    break
                ordinal += 1
            if not wanted <= out.keys():
                raise SourceError(
                    self._ref.path, "a camera message is gone: the bag changed, register it again", topic
                )
        return out

    def close(self) -> None:
        if self._bag is not None:
            self._bag.close()
            self._bag = None
