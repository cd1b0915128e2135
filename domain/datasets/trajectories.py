"""Pure computation: which frames a trajectory request covers, and its columnar arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.core.errors import BadUserInput, LimitExceeded
from persistence.episode_sources import TASK_INDEX, TRAJECTORY_DATASETS


@dataclass(frozen=True)
class FrameRange:
    start: int
    stop: int  # exclusive
    stride: int

    @property
    def count(self) -> int:
        return len(range(self.start, self.stop, self.stride))

    def as_slice(self) -> slice:
        return slice(self.start, self.stop, self.stride)


def frame_range(
    length: int, from_frame: int | None, to_frame: int | None, stride: int | None, max_samples: int
) -> FrameRange:
    """Validate an inclusive [from_frame, to_frame] request with a stride against an episode."""
    start = 0 if from_frame is None else from_frame
    last = length - 1 if to_frame is None else to_frame
    step = 1 if stride is None else stride
    if not 0 <= start < length:
        raise BadUserInput(f"from_frame must be between 0 and {length - 1}, got {start}", field="from_frame")
    if not 0 <= last < length:
        raise BadUserInput(f"to_frame must be between 0 and {length - 1}, got {last}", field="to_frame")
    if last < start:
        raise BadUserInput(f"to_frame ({last}) is before the first frame ({start})", field="to_frame")
    if step < 1:
        raise BadUserInput(f"stride must be at least 1, got {step}", field="stride")
    result = FrameRange(start, last + 1, step)
    if result.count > max_samples:
        raise LimitExceeded(
            f"{result.count} samples requested, at most {max_samples}: raise stride or narrow the range",
            field="stride",
        )
    return result


@dataclass(frozen=True)
class Trajectory:
    """Time-aligned arrays of one episode; matrices are columnar (one row per joint or component)."""

    frames: np.ndarray
    timestamps: np.ndarray | None
    joint_positions: np.ndarray | None
    joint_velocities: np.ndarray | None
    ee_pose: np.ndarray | None
    gripper: np.ndarray | None
    actions: np.ndarray | None
    task_indexes: np.ndarray | None
    joint_names: list[str]
    missing: list[str]


def _columns(array: np.ndarray | None) -> np.ndarray | None:
    if array is None:
        return None
    return array.T if array.ndim == 2 else array[np.newaxis, :]


def build_trajectory(arrays: dict[str, np.ndarray], frames: FrameRange, joint_names: list[str]) -> Trajectory:
    state = arrays.get("observation.state")
    joints = state.shape[1] if state is not None and state.ndim == 2 else len(joint_names)
    names = joint_names if len(joint_names) == joints else [f"joint_{i + 1}" for i in range(joints)]
    present = set(arrays)
    gripper = arrays.get("observation.gripper")
    if gripper is not None and gripper.ndim == 2 and gripper.shape[1] == 1:
        gripper = gripper[:, 0]
    return Trajectory(
        frames=np.arange(frames.start, frames.stop, frames.stride),
        timestamps=arrays.get("timestamp"),
        joint_positions=_columns(state),
        joint_velocities=_columns(arrays.get("observation.velocity")),
        ee_pose=_columns(arrays.get("observation.ee_pose")),
        gripper=_columns(gripper) if gripper is not None and gripper.ndim == 2 else gripper,
        actions=_columns(arrays.get("action")),
        task_indexes=arrays.get(TASK_INDEX),
        joint_names=names,
        missing=[name for name in TRAJECTORY_DATASETS if name not in present],
    )
