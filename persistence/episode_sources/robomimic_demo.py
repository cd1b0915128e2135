"""One robomimic demo: its group, checked (`Demo`), and the open-episode reader (`RobomimicEpisode`).

Per demo (N = the `num_samples` attribute): `actions` N x A, `obs/<robot>_joint_pos`, `_joint_vel`,
`_eef_pos` N x 3, `_eef_quat` N x 4, `_gripper_qpos`, and cameras `obs/<name>_image` N x H x W x 3 uint8
(robomimic's docs/datasets/overview.md; images are channel-last uint8 as robomimic requires).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from persistence.episode_sources import hdf5_checks as checks
from persistence.episode_sources.base import (
    TRAJECTORY_DATASETS,
    SourceError,
    check_frames,
    unknown_camera,
)

DEFAULT_FPS = 20.0  # robosuite's default control frequency (control_freq=20)
# Compressed image chunks span several frames (robomimic writes images with gzip): keep them cached while
# a camera is read frame by frame.
_CACHE_BYTES = 8 << 20


class Demo:
    """One demo group checked against the layout: its length, arrays and cameras. SourceError (naming
    `shown` and the HDF5 path) for a `num_samples` that is not an integer, arrays whose rows differ from
    it, a group where an array belongs, a camera that is not N x H x W x 3 uint8 or has fewer frames."""

    def __init__(self, group: h5py.Group, robot: str, shown: Path | str) -> None:
        self.group, self.shown = group, shown
        count = checks.int_attr(group, "num_samples", shown)
        actions = checks.array(group, "actions", shown, rows=count)
        obs = checks.subgroup(group, "obs", shown)
        if count is None:
            first = actions if actions is not None else first_array(obs)
            if first is None:
                raise SourceError(shown, "has no num_samples attribute, actions or obs", group.name)
            count = int(first.shape[0])
        self.length = count
        self.action = actions
        for name in ("states", "rewards", "dones"):
            checks.array(group, name, shown, ndims=(1, 2))
        self.arrays: dict[str, h5py.Dataset] = {}
        self.cameras: dict[str, h5py.Dataset] = {}
        self.unread: dict[str, str] = {}  # obs key -> why it is not read
        if obs is not None:
            self._obs(obs, robot)
        checks.subgroup(group, "next_obs", shown)

    def _obs(self, obs: h5py.Group, robot: str) -> None:
        shown = self.shown
        roles = {  # obs key -> (what it becomes, required columns)
            f"{robot}_joint_pos": ("observation.state", None),
            f"{robot}_joint_vel": ("observation.velocity", None),
            f"{robot}_eef_pos": ("eef_pos", 3),
            f"{robot}_eef_quat": ("eef_quat", 4),
            f"{robot}_gripper_qpos": ("observation.gripper", None),
        }
        for key, node in obs.items():
            path = checks.where(obs, key)
            if not isinstance(node, h5py.Dataset):
                raise SourceError(shown, "a group where an array belongs", path)
            if key in roles:
                role, columns = roles[key]
                checks.array(obs, key, shown, rows=self.length)
                if columns is not None and node.shape[1] != columns:
                    raise SourceError(shown, f"must be N x {columns}, found {node.shape}", path)
                self.arrays[role] = node
            elif key.endswith("_image") and not key.endswith("_depth_image"):
                if node.ndim != 4 or node.shape[3] != 3 or node.dtype != np.uint8:
                    raise SourceError(
                        shown, f"must be N x H x W x 3 uint8, found {node.shape} {node.dtype}", path
                    )
                if node.shape[0] < self.length:
                    raise SourceError(shown, f"has {node.shape[0]} frames, the demo has {self.length}", path)
                self.cameras[key[: -len("_image")]] = node
            else:
                self.unread[key] = "observation key with no standard name: not read"
        if ("eef_pos" in self.arrays) != ("eef_quat" in self.arrays):
            lone = "eef_pos" if "eef_pos" in self.arrays else "eef_quat"
            self.unread[f"{robot}_{lone}"] = "the other half of the end-effector pose is absent: not read"
            self.arrays.pop(lone)

    def standard(self) -> set[str]:
        """The TRAJECTORY_DATASETS this demo has."""
        names = {"timestamp", *(n for n in self.arrays if n in TRAJECTORY_DATASETS)}
        names |= {"observation.ee_pose"} if "eef_pos" in self.arrays else set()
        return names | ({"action"} if self.action is not None else set())


def first_array(obs: h5py.Group | None) -> h5py.Dataset | None:
    for node in (obs or {}).values():
        if isinstance(node, h5py.Dataset) and node.ndim:
            return node
    return None


class RobomimicEpisode:
    """One demo of an open robomimic file: arrays by slice, frames one at a time (cached chunks)."""

    def __init__(self, path: Path, locator: dict) -> None:
        self.path = path
        self.fps = float(locator.get("fps", DEFAULT_FPS))
        self.task_index = locator.get("task_index")
        self.file = checks.open_file(path, path, _CACHE_BYTES)
        with checks.closed_on_failure(self.file, path):
            where = locator.get("group", "")
            group = checks.subgroup(self.file, where, path) if where else None
            if group is None:
                raise SourceError(path, "has no such demo group", f"/{where}")
            self.demo = Demo(group, str(locator.get("robot", "robot0")), path)

    @property
    def length(self) -> int:
        return self.demo.length

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        return {
            name: (int(d.shape[0]), int(d.shape[1]), int(d.shape[2])) for name, d in self.demo.cameras.items()
        }

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        """timestamp (float64 s), action, observation.state / velocity (N x D as stored), observation.ee_pose
        (N x 7: eef_pos then eef_quat), observation.gripper (N x 2) and task_index over `selection`."""
        out: dict[str, np.ndarray] = {}
        for name in names:
            if name == "timestamp":
                out[name] = checks.timestamps(selection, self.length, self.fps)
            elif name == "action" and self.demo.action is not None:
                out[name] = self._read(self.demo.action, selection)
            elif name == "observation.ee_pose" and "eef_pos" in self.demo.arrays:
                parts = [self._read(self.demo.arrays[k], selection) for k in ("eef_pos", "eef_quat")]
                out[name] = np.concatenate(parts, axis=1)
            elif name in self.demo.arrays and name in TRAJECTORY_DATASETS:
                out[name] = self._read(self.demo.arrays[name], selection)
            elif name == "task_index" and self.task_index is not None:
                count = len(range(*selection.indices(self.length)))
                out[name] = np.full(count, self.task_index, dtype=np.int64)
        return out

    def _read(self, dataset: h5py.Dataset, selection: slice) -> np.ndarray:
        return checks.read_rows(dataset, selection, self.length, self.path)

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        """RGB H x W x 3 uint8 frames of `obs/<camera>_image`, in the order asked."""
        dataset = self.demo.cameras.get(camera)
        if dataset is None:
            raise unknown_camera(camera, list(self.demo.cameras))
        check_frames(camera, int(dataset.shape[0]), indices)
        try:
            return [dataset[index] for index in indices]
        except checks.READ_ERRORS as exc:
            raise SourceError(self.path, f"frames cannot be read ({exc})", dataset.name) from None

    def close(self) -> None:
        self.file.close()
