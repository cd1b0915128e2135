from __future__ import annotations

import strawberry

from domain.trajectories import Trajectory as TrajectoryData
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
    gripper: NumericArray | None = strawberry.field(description="Gripper closure, 0 open to 1 closed.")
    actions: NumericArray | None = strawberry.field(
        description="Commanded actions, one row per action dimension."
    )
    missing: list[str] = strawberry.field(description="Layout datasets this episode's file does not have.")

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
            actions=data.actions,
            missing=data.missing,
        )
