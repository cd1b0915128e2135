"""One demo episode, generated deterministically from (spec, index) alone.

The spec's scene decides what the cameras film: the arm's workspace (workspace.py, drawn from the
episode's own joint states and gripper readings, with the known defects) or the street
(scene.py, clean recordings).

Each part draws from its own generator seeded (seed, index, part), so the length, motion,
defect and scene of an episode never depend on one another's draws or on other episodes.
Camera frames are rendered lazily, one at a time, so a caller never holds a whole video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from domain.datasets.demo import defects, motion, scene, workspace, workspace_frames
from domain.datasets.demo.spec import TASKS, DemoSpec, labels

_LENGTH, _MOTION, _DEFECT, _SCENE = range(4)


@dataclass(frozen=True)
class DemoEpisode:
    index: int
    task_index: int
    fps: float
    arrays: dict[str, np.ndarray]  # every non-image dataset, keyed by its HDF5 name
    scene: scene.Scene | workspace.Workspace
    defects: list[dict]  # records as written to defects.json (empty when clean)
    labels: tuple[str, ...]  # the labels its true boxes use

    @property
    def length(self) -> int:
        return len(self.arrays["timestamp"])

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(self.scene.cameras)

    def render(self, camera: str) -> Iterator[tuple[np.ndarray, list[dict]]]:
        """(frame, boxes of that frame) for every frame of one camera, produced lazily."""
        for k, t in enumerate(self.arrays["timestamp"]):
            image, boxes = self._render(camera, float(t), k, True)
            assert image is not None  # painted
            yield image, boxes

    def _render(self, camera: str, t: float, k: int, paint: bool) -> tuple[np.ndarray | None, list]:
        if isinstance(self.scene, workspace.Workspace):
            return workspace_frames.render(self.scene, camera, k, paint)
        return scene.render(self.scene, camera, t, k, paint)

    def frames(self, camera: str) -> Iterator[np.ndarray]:
        return (image for image, _ in self.render(camera))

    def boxes(self, camera: str) -> list[dict]:
        """All true boxes of one camera, computed from the same masks without painting."""
        out: list[dict] = []
        for k, t in enumerate(self.arrays["timestamp"]):
            out.extend(self._render(camera, float(t), k, False)[1])
        return out

    def ground_truth(self, boxes: dict[str, list[dict]] | None = None) -> dict:
        """The ground_truth/episode_*.json document; pass boxes already gathered while rendering."""
        first = self.scene.cameras[self.cameras[0]]
        boxes = boxes if boxes is not None else {c: self.boxes(c) for c in self.cameras}
        return {
            "episode_index": self.index,
            "width": first.width,
            "height": first.height,
            "labels": list(self.labels),
            "cameras": {c: boxes[c] for c in self.cameras},
        }


def episode_length(spec: DemoSpec, index: int) -> int:
    rng = np.random.default_rng((spec.seed, index, _LENGTH))
    return int(rng.integers(spec.min_length, spec.max_length + 1))


def generate_episode(spec: DemoSpec, index: int) -> DemoEpisode:
    if not 0 <= index < spec.episodes:
        raise ValueError(f"episode index {index} outside 0..{spec.episodes - 1}")
    n, fps = episode_length(spec, index), spec.fps
    task_index = index % len(TASKS)
    kind = defects.assign_defects(spec.episodes).get(index) if spec.scene == "workspace" else None
    drng = np.random.default_rng((spec.seed, index, _DEFECT))
    halt = defects.halt_length(drng, n) if kind == "hesitation" else 0
    plan = motion.make_plan(np.random.default_rng((spec.seed, index, _MOTION)), n, task_index, halt, fps)

    records: list[dict] = []
    frame_times = np.arange(n, dtype=np.float64)
    if kind == "dropped_frame":
        frame_times, record = defects.drop_frame(drng, n, fps)
        records.append(record)
    timestamps = frame_times / fps
    state = motion.joints_at(plan, frame_times)
    if kind == "jitter":
        records.append(defects.add_jitter(state, drng, fps))
    elif kind == "velocity_spike":
        records.append(defects.add_spike(state, drng))
    # Velocity and pose derive from the state as stored (float32), before any NaN is put in.
    state32 = state.astype(np.float32)
    velocity = motion.velocity(state32.astype(np.float64), timestamps).astype(np.float32)
    ee_pose = motion.forward_kinematics(state32.astype(np.float64)).astype(np.float32)
    pose = state32.astype(np.float64)  # what the cameras see: the arm as measured, before any NaN
    if kind == "hesitation":
        speed = np.linalg.norm(velocity.astype(np.float64), axis=1)
        assert plan.hold is not None  # a hesitation's halt makes the plan's hold
        records.append(defects.describe_hesitation(speed, plan.hold))
    elif kind == "nan_state":
        records.append(defects.add_nan(state32, drng))

    action = np.concatenate(
        [motion.joints_at(plan, frame_times + 1.0), motion.gripper_command(plan, frame_times)[:, None]],
        axis=1,
    )
    arrays: dict[str, np.ndarray] = {
        "timestamp": timestamps,
        "action": action.astype(np.float32),
        "observation.state": state32,
        "observation.velocity": velocity,
        "observation.ee_pose": ee_pose,
        "observation.gripper": motion.gripper_at(plan, frame_times).astype(np.float32),
    }
    srng = np.random.default_rng((spec.seed, index, _SCENE))
    world: scene.Scene | workspace.Workspace
    if spec.scene == "workspace":
        grip = arrays["observation.gripper"].astype(np.float64)
        size = (spec.width, spec.height)
        world = workspace.make_workspace(srng, spec.cameras, size, pose, grip, plan.closed, task_index)
    else:
        cams = [scene.make_camera(c, spec.width, spec.height) for c in spec.cameras]
        world = scene.make_scene(srng, cams, n / fps)
    return DemoEpisode(index, task_index, fps, arrays, world, records, labels(spec))
