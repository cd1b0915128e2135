"""Write robomimic dataset files with h5py the way robomimic's `dataset_states_to_obs.py` writes them (a
module of functions, used by the tests and the benchmark; deterministic).

One file: `data/demo_<k>/{actions, states, rewards, dones}`, `obs/<key>` and `next_obs/<key>` (images
N x H x W x 3 uint8 and low-dimensional keys, gzip-compressed), demo attributes `num_samples` and
`model_file`, `data` attributes `total` and `env_args` (json.dumps(..., indent=4)), and the filter keys
`mask/train` and `mask/valid` as `file_utils.create_hdf5_filter_key` stores them (np.array(names, "S")).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

JOINTS = 7


def image(demo: int, camera: int, frame: int, height: int, width: int) -> np.ndarray:
    """A deterministic RGB frame: a gradient plus a square that moves with `frame`."""
    y = np.arange(height, dtype=np.int32)[:, None] * 200 // max(1, height)
    x = np.arange(width, dtype=np.int32)[None, :] * 200 // max(1, width)
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = x + 20 * (camera % 3)
    img[..., 1] = y + 7 * (demo % 7)
    img[..., 2] = frame % 256
    size = max(2, min(height, width) // 5)
    top, left = (frame * 2) % max(1, height - size), (frame * 3 + camera * 9) % max(1, width - size)
    img[top : top + size, left : left + size] = 255
    return img


def observations(
    demo: int, length: int, cameras: Sequence[str], height: int, width: int
) -> dict[str, np.ndarray]:
    """robosuite's observation keys for one robot (`robot0_*`), an `object` key, and `<camera>_image`s,
    for `length + 1` steps (obs are steps 0..N-1, next_obs steps 1..N)."""
    t = np.arange(length + 1, dtype=np.float64)[:, None]
    joints = np.sin(0.04 * t * np.arange(1, JOINTS + 1) + demo)
    quat = np.concatenate([np.sin(0.01 * t), np.zeros_like(t), np.zeros_like(t), np.cos(0.01 * t)], axis=1)
    obs = {
        "object": np.cos(0.03 * t * np.arange(1, 11)),
        "robot0_eef_pos": np.concatenate(
            [0.1 * np.sin(0.02 * t), 0.1 * np.cos(0.02 * t), 0.8 + 0.001 * t], 1
        ),
        "robot0_eef_quat": quat,
        "robot0_gripper_qpos": np.concatenate(
            [0.02 + 0.01 * np.sin(0.1 * t), -0.02 - 0.01 * np.sin(0.1 * t)], 1
        ),
        "robot0_joint_pos": joints,
        "robot0_joint_vel": np.gradient(joints, axis=0) * 20,
    }
    for c, camera in enumerate(cameras):
        obs[f"{camera}_image"] = np.stack([image(demo, c, f, height, width) for f in range(length + 1)])
    return obs


def env_args(env_name: str = "Lift", cameras: Sequence[str] = (), height: int = 84, width: int = 84) -> dict:
    """The `env_args` robosuite's EnvRobosuite.serialize() gives for an image dataset."""
    return {
        "env_name": env_name,
        "env_version": "1.4.1",
        "type": 1,
        "env_kwargs": {
            "has_renderer": False,
            "has_offscreen_renderer": True,
            "ignore_done": True,
            "use_object_obs": True,
            "use_camera_obs": bool(cameras),
            "control_freq": 20,
            "controller_configs": {"type": "OSC_POSE"},
            "robots": ["Panda"],
            "camera_depths": False,
            "camera_heights": height,
            "camera_widths": width,
            "camera_names": list(cameras),
            "reward_shaping": False,
        },
    }


def write_dataset(
    path: Path,
    demos: int = 10,
    length: int | Sequence[int] = 50,
    cameras: Sequence[str] = ("agentview", "robot0_eye_in_hand"),
    height: int = 84,
    width: int = 84,
    env_name: str = "Lift",
    valid_every: int = 10,
) -> Path:
    """A robomimic file at `path` with `demos` demos (`length` frames each, or one length per demo);
    every `valid_every`-th demo goes to mask/valid, the others to mask/train. Returns `path`."""
    lengths = [length] * demos if isinstance(length, int) else list(length)
    with h5py.File(path, "w") as f_out:
        data_grp = f_out.create_group("data")
        total = 0
        for k, n in enumerate(lengths):
            obs = observations(k, n, cameras, height, width)
            ep = data_grp.create_group(f"demo_{k}")
            ep.create_dataset("actions", data=np.tanh(np.diff(obs["robot0_joint_pos"], axis=0) * 10))
            ep.create_dataset(
                "states", data=np.concatenate([obs["robot0_joint_pos"][:n]] * 4 + [np.ones((n, 4))], 1)
            )
            ep.create_dataset("rewards", data=(np.arange(n) == n - 1).astype(np.float64))
            ep.create_dataset("dones", data=(np.arange(n) == n - 1).astype(np.int64))
            for key, values in obs.items():
                ep.create_dataset(f"obs/{key}", data=values[:n], compression="gzip")
                ep.create_dataset(f"next_obs/{key}", data=values[1:], compression="gzip")
            ep.attrs["model_file"] = "<mujoco model='generated'/>"
            ep.attrs["num_samples"] = n
            total += n
        data_grp.attrs["total"] = total
        data_grp.attrs["env_args"] = json.dumps(env_args(env_name, cameras, height, width), indent=4)
        names = [f"demo_{k}" for k in range(len(lengths))]
        f_out["mask/train"] = np.array([d for i, d in enumerate(names) if (i + 1) % valid_every], dtype="S")
        f_out["mask/valid"] = np.array(
            [d for i, d in enumerate(names) if not (i + 1) % valid_every], dtype="S"
        )
    return path
