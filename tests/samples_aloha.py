"""Write ALOHA episode files with h5py the way ACT and Mobile ALOHA write them (a module of functions,
used by the tests and the benchmark; deterministic, and fast enough for hundreds of frames).

- Raw cameras, as ACT's `record_sim_episodes.py`: `/observations/images/<cam>` N x H x W x 3 uint8 in
  chunks of one frame, `/observations/qpos`, `/observations/qvel`, `/action` (N x 14 float32: h5py's
  default dtype for `create_dataset(name, shape)`), attribute `sim`.
- JPEG cameras, as Mobile ALOHA's `record_episodes.py` with compression: each frame encoded at quality 50,
  zero-padded to the longest frame of all cameras, `/observations/images/<cam>` N x L uint8 in chunks of
  one row, `/compress_len` cameras x N (float32, rows in camera order), attributes `sim` and `compress`.
  Like `cv2.imencode`, which takes its RGB input as BGR, the JPEGs hold red and blue swapped
  (`swap_red_blue=True`, the default).
- `mobile=True` adds Mobile ALOHA's `/observations/effort` (N x 14) and `/base_action` (N x 2).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

JOINTS = 14
GRIPPERS = (6, 13)


@functools.lru_cache(maxsize=64)
def _background(episode: int, camera: int, height: int, width: int) -> np.ndarray:
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None] + np.zeros((1, width), np.float32)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :] + np.zeros((height, 1), np.float32)
    channels = [40 + 120 * x + 20 * (camera % 4), 40 + 120 * y + 10 * (episode % 8), 200 - 50 * (x + y)]
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def frame_pixels(episode: int, camera: int, frame: int, height: int, width: int) -> np.ndarray:
    """A smooth gradient with a bright square that moves with `frame` (JPEG keeps it within a few levels)."""
    img = _background(episode, camera, height, width).copy()
    size = max(4, min(height, width) // 4)
    top = (frame * 3) % max(1, height - size)
    left = (frame * 5 + 11 * camera) % max(1, width - size)
    img[top : top + size, left : left + size] = (230, 230, 40)
    return img


def trajectory(episode: int, length: int, columns: int = JOINTS) -> np.ndarray:
    """Deterministic joint positions N x columns; gripper columns stay within 0..1."""
    t = np.arange(length, dtype=np.float64)[:, None]
    j = np.arange(columns, dtype=np.float64)[None, :]
    values = np.sin(0.05 * t * (j + 1) / columns + episode + 0.3 * j)
    for g in GRIPPERS:
        if g < columns:
            values[:, g] = 0.5 + 0.5 * values[:, g]
    return values


def jpeg_bytes(pixels: np.ndarray, quality: int = 50, swap_red_blue: bool = True) -> bytes:
    """What `cv2.imencode('.jpg', pixels, [IMWRITE_JPEG_QUALITY, quality])` writes for RGB `pixels`."""
    out = io.BytesIO()
    image = Image.fromarray(pixels)
    if swap_red_blue:
        red, green, blue = image.split()
        image = Image.merge("RGB", (blue, green, red))
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_episode(
    path: Path,
    episode: int = 0,
    length: int = 100,
    cameras: Sequence[str] = ("top",),
    height: int = 480,
    width: int = 640,
    compress: bool = False,
    mobile: bool = False,
    sim: bool = True,
    swap_red_blue: bool = True,
) -> Path:
    """One `episode_<N>.hdf5`-style file at `path`; returns `path`."""
    qpos = trajectory(episode, length)
    data: dict[str, np.ndarray] = {
        "/observations/qpos": qpos,
        "/observations/qvel": np.gradient(qpos, axis=0) * 50,
        "/action": trajectory(episode, length) + 0.01,
    }
    images = {
        cam: [frame_pixels(episode, c, t, height, width) for t in range(length)]
        for c, cam in enumerate(cameras)
    }
    with h5py.File(path, "w", rdcc_nbytes=1024**2 * 2) as root:
        root.attrs["sim"] = sim
        if compress:
            root.attrs["compress"] = True
        obs = root.create_group("observations")
        image = obs.create_group("images")
        if compress:
            encoded = {
                cam: [jpeg_bytes(f, swap_red_blue=swap_red_blue) for f in frames]
                for cam, frames in images.items()
            }
            lens = np.array([[len(b) for b in encoded[cam]] for cam in cameras])
            padded = int(lens.max())
            for cam in cameras:
                rows = np.zeros((length, padded), np.uint8)
                for t, b in enumerate(encoded[cam]):
                    rows[t, : len(b)] = np.frombuffer(b, np.uint8)
                image.create_dataset(cam, (length, padded), dtype="uint8", chunks=(1, padded))[...] = rows
            root.create_dataset("compress_len", (len(cameras), length), dtype="f4")[...] = lens
        else:
            for cam in cameras:
                ds = image.create_dataset(
                    cam, (length, height, width, 3), dtype="uint8", chunks=(1, height, width, 3)
                )
                ds[...] = np.stack(images[cam])
        for name in ("qpos", "qvel"):
            obs.create_dataset(name, (length, JOINTS), dtype="f4")
        root.create_dataset("action", (length, JOINTS), dtype="f4")
        if mobile:
            obs.create_dataset("effort", (length, JOINTS), dtype="f4")[...] = qpos * 3
            root.create_dataset("base_action", (length, 2), dtype="f4")[...] = qpos[:, :2] * 0.1
        for name, array in data.items():
            root[name][...] = array
    return path


def write_dataset(
    folder: Path,
    episodes: int = 3,
    length: int = 100,
    cameras: Sequence[str] = ("top",),
    height: int = 480,
    width: int = 640,
    compress: bool = False,
    mobile: bool = False,
) -> list[Path]:
    """`episodes` files `episode_0.hdf5` ... in `folder` (created); returns their paths in index order."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_episode(
            folder / f"episode_{i}.hdf5",
            i,
            length,
            cameras,
            height,
            width,
            compress=compress,
            mobile=mobile,
            sim=not mobile,
        )
        for i in range(episodes)
    ]
