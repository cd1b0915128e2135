from __future__ import annotations

import strawberry

from domain.datasets.trajectories import Trajectory as TrajectoryData
from graph.scalars import NumericArray


@strawberry.type(
    description=(
        "Time-aligned arrays of one episode over the requested frames. Each array is one scalar; "
        "matrices are columnar: one inner array per joint or component. A dataset absent from "
        "the file is null and listed in `missing`."
    )
)
class Trajectory:
    frames: NumericArray = strawberry.field(description="The frame index of each sample.")
    timestamps: NumericArray | None = strawberry.field(description="Seconds since the episode started.")
    joint_names: list[str] = strawberry.field(description="Names of the joints, in the order of the rows.")
    joint_positions: NumericArray | None = strawberry.field(
        description="Joint positions (rad), one row per joint."
    )
    joint_velocities: NumericArray | None = strawberry.field(
        description="Joint velocities (rad/s), one row per joint."
    )
    ee_pose: NumericArray | None = strawberry.field(
        description="End-effector pose, rows x, y, z, qx, qy, qz, qw."
    )
    gripper: NumericArray | None = strawberry.field(
        description=(
            "Gripper opening as the format records it (ALOHA: normalised 0-1; LeRobot, bags: the "
            "joint's value): one array for one gripper, one row per gripper for several."
        )
    )
    actions: NumericArray | None = strawberry.field(
        description="Commanded actions, one row per action dimension."
    )
    task_indexes: NumericArray | None = strawberry.field(
        description="The task index of each sample (LeRobot's per-frame `task_index`); null when unknown."
    )
    missing: list[str] = strawberry.field(
        description="Standard arrays (timestamp, action, observation.*) this episode's format does not have."
    )

    @classmethod
    def from_data(cls, data: TrajectoryData) -> Trajectory:
        return cls(
            frames=data.frames,
            timestamps=data.timestamps,
            joint_names=data.joint_names,
            joint_positions=data.joint_positions,
            joint_velocities=data.joint_velocities,
            ee_pose=data.ee_pose,
            gripper=data.gripper,
            task_indexes=data.task_indexes,
            actions=data.actions,
            missing=data.missing,
        )
