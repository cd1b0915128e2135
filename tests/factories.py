"""Small HDF5 datasets in the layout of DESIGN.md, written fast for tests."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

JOINTS = 7


def frame_pixels(episode: int, frame: int, height: int, width: int) -> np.ndarray:
    """A frame whose colour encodes its episode and index, so a served JPEG can be checked."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = (frame * 5) % 256
    pixels[..., 1] = (episode * 40) % 256
    pixels[..., 2] = 128
    return pixels


def write_episode(
    path: Path,
    index: int,
    length: int,
    *,
    cameras: tuple[str, ...] = ("front",),
    size: tuple[int, int] = (48, 64),
    task_index: int | None = 0,
    fps: float = 30.0,
    skip: tuple[str, ...] = (),
) -> None:
    t = np.arange(length) / fps
    state = np.stack([np.sin(t * (j + 1)) for j in range(JOINTS)], axis=1).astype(np.float32)
    data = {
        "timestamp": t,
        "observation.state": state,
        "observation.velocity": np.gradient(state, axis=0).astype(np.float32) * fps,
        "observation.ee_pose": np.tile(np.array([0.1, 0.2, 0.3, 0, 0, 0, 1], np.float32), (length, 1)),
        "observation.gripper": (np.arange(length) > length // 2).astype(np.float32),
        "action": np.concatenate([state, np.zeros((length, 1), np.float32)], axis=1),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name, array in data.items():
            if name not in skip:
                f.create_dataset(name, data=array)
        for camera in cameras:
            frames = np.stack([frame_pixels(index, i, *size) for i in range(length)])
            f.create_dataset(f"observation.images.{camera}", data=frames, chunks=(1, *size, 3))
        if task_index is not None:
            f.attrs["task_index"] = task_index


def write_dataset(
    folder: Path,
    *,
    episodes: int = 3,
    lengths: list[int] | None = None,
    cameras: tuple[str, ...] = ("front",),
    size: tuple[int, int] = (48, 64),
    name: str = "tiny",
    tasks: tuple[str, ...] = ("pick the cube", "place the cube"),
) -> Path:
    lengths = lengths or [40 + 10 * i for i in range(episodes)]
    for i, length in enumerate(lengths):
        write_episode(
            folder / "episodes" / f"episode_{i:06d}.hdf5",
            i,
            length,
            cameras=cameras,
            size=size,
            task_index=i % len(tasks),
        )
    info = {
        "name": name,
        "fps": 30.0,
        "robot_type": "7dof_arm",
        "cameras": list(cameras),
        "joint_names": [f"joint_{j + 1}" for j in range(JOINTS)],
        "tasks": [{"index": i, "description": d} for i, d in enumerate(tasks)],
        "features": {"observation.state": {"dtype": "float32", "shape": [JOINTS]}},
    }
    (folder / "info.json").write_text(json.dumps(info))
    return folder


async def seed_index(runtime, datasets: int, episodes: int) -> None:
    """Index rows for `datasets` x `episodes` without files (for statement counts)."""
    from persistence.repositories import dataset as datasets_repo
    from persistence.repositories import episode as episodes_repo
    from persistence.repositories import task as tasks_repo

    async with runtime.sessions() as session, session.begin():
        for d in range(datasets):
            row = await datasets_repo.upsert_dataset(
                session,
                f"/data/set{d}",
                name=f"set{d}",
                format="HDF5",
                fps=30.0,
                cameras=["front"],
                joint_names=[],
                features={},
                episode_count=episodes,
                frame_count=episodes * 10,
            )
            await tasks_repo.replace_tasks(session, row.id, [(0, "pick"), (1, "place"), (2, "push")])
            await episodes_repo.replace_episodes(
                session,
                row.id,
                [
                    dict(
                        index=i,
                        file=f"episodes/episode_{i:06d}.hdf5",
                        length=10 + i,
                        duration=1.0,
                        task_index=i % 3,
                        cameras={"front": [10, 48, 64]},
                        missing=[],
                        file_size=1,
                        file_mtime=0.0,
                    )
                    for i in range(episodes)
                ],
            )
