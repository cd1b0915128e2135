"""One ALOHA episode file: its layout, checked (`Layout`), and the open-episode reader (`AlohaEpisode`).

Cameras are `/observations/images/<name>`: raw frames N x H x W x 3 uint8 (ACT), or JPEG bytes N x L
uint8 zero-padded (act-plus-plus `compress_data.py`, Mobile ALOHA `record_episodes.py`) with each frame's
byte count in `/compress_len` (JPEG cameras x N, rows in the image group's name order, the order those
tools' readers pair them in), a file attribute of that shape, or an attribute `compress_len` (N) on the
camera. JPEGs are decoded with Pillow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from persistence.episode_sources import hdf5_checks as checks
from persistence.episode_sources.base import SourceError, check_frames, unknown_camera
from persistence.episode_sources.images import ImageDecodeError, decode_rgb, open_image

ACT_GRIPPER_INDEXES = [6, 13]  # bimanual ALOHA's qpos: 2 x (6 arm joints + 1 gripper)


@dataclass
class Camera:
    dataset: h5py.Dataset
    frames: int
    height: int
    width: int
    jpeg: bool
    jpeg_lengths: np.ndarray | None = None  # byte count per frame; None: raw, or whole padded rows


class Layout:
    """An open ALOHA file checked against the layout. SourceError (naming `shown` and the HDF5 path) for
    a group where an array belongs, rows that differ from the state's, a camera with fewer frames than
    the state, attributes `sim`/`compress` that are not booleans, JPEG byte counts that do not fit."""

    def __init__(self, f: h5py.File, shown: Path | str) -> None:
        self.shown = shown
        obs = checks.subgroup(f, "observations", shown)
        self.qpos = checks.array(obs, "qpos", shown) if obs is not None else None
        self.action = checks.array(f, "action", shown)
        first = self.qpos if self.qpos is not None else self.action
        if first is None:
            raise SourceError(shown, "holds neither /observations/qpos nor /action", "/observations/qpos")
        self.length = int(first.shape[0])
        checks.array(f, "action", shown, rows=self.length)
        self.qvel = checks.array(obs, "qvel", shown, rows=self.length) if obs is not None else None
        if obs is not None:
            checks.array(obs, "effort", shown, ndims=(1, 2))
        checks.array(f, "base_action", shown, ndims=(1, 2))
        self.sim = checks.bool_attr(f, "sim", shown)
        self.compress = checks.bool_attr(f, "compress", shown)
        self.cameras: dict[str, Camera] = {}
        self.unread_images: dict[str, str] = {}  # image datasets that are not RGB cameras -> why
        images = checks.subgroup(obs, "images", shown) if obs is not None else None
        if images is not None:
            self._cameras(f, images)

    def trajectories(self) -> dict[str, h5py.Dataset | None]:
        return {"action": self.action, "observation.state": self.qpos, "observation.velocity": self.qvel}

    def _cameras(self, f: h5py.File, images: h5py.Group) -> None:
        jpeg_names = []
        for name, node in images.items():
            path = checks.where(images, name)
            if not isinstance(node, h5py.Dataset):
                raise SourceError(self.shown, "a group where an array belongs", path)
            if node.ndim == 4 and node.shape[3] == 3 and node.dtype == np.uint8:
                frames, height, width = (int(v) for v in node.shape[:3])
                self.cameras[name] = Camera(node, frames, height, width, jpeg=False)
            elif "_depth" in name or node.ndim == 3 or (node.ndim == 4 and node.shape[3] == 1):
                # Mobile ALOHA keeps depth images uncompressed beside the colour cameras.
                self.unread_images[name] = "depth or single-channel image: not an RGB camera"
            elif node.ndim == 2 and node.dtype == np.uint8:
                jpeg_names.append(name)
            else:
                found = f"{node.shape} {node.dtype}"
                problem = f"must be N x H x W x 3 uint8 frames or N x L uint8 JPEG bytes, found {found}"
                raise SourceError(self.shown, problem, path)
        lengths = self._jpeg_lengths(f, images, jpeg_names)
        for name in jpeg_names:
            self.cameras[name] = _jpeg_camera(images[name], lengths.get(name), self.shown)
        for name, camera in self.cameras.items():
            if camera.frames < self.length:
                problem = f"has {camera.frames} frames, the state has {self.length}"
                raise SourceError(self.shown, problem, checks.where(images, name))

    def _jpeg_lengths(self, f: h5py.File, images: h5py.Group, names: list[str]) -> dict[str, np.ndarray]:
        """Each JPEG camera's byte counts: `/compress_len` (cameras x N), else a file attribute of that
        shape, else an attribute on the camera's dataset; none: whole rows are decoded (JPEG ends at EOI)."""
        if not names:
            return {}
        table, place = None, ""
        node = checks.array(f, "compress_len", self.shown)
        if node is not None:
            table, place = node[()], "/compress_len"
        elif "compress_len" in f.attrs:
            table, place = np.asarray(f.attrs["compress_len"]), "/.attrs[compress_len]"
        found: dict[str, np.ndarray] = {}
        if table is not None:
            if table.ndim != 2 or table.shape[0] != len(names) or table.dtype.kind not in "iuf":
                problem = f"must be a number table of {len(names)} JPEG camera rows x N, found {table.shape}"
                raise SourceError(self.shown, problem, place)
            found = {name: table[row] for row, name in enumerate(names)}
        for name in names:
            if name not in found and "compress_len" in images[name].attrs:
                found[name] = np.asarray(images[name].attrs["compress_len"])
                if found[name].ndim != 1 or found[name].dtype.kind not in "iuf":
                    problem = f"must be N byte counts, found {found[name].shape}"
                    raise SourceError(self.shown, problem, checks.attr_where(images[name], "compress_len"))
        return found


def _jpeg_camera(node: h5py.Dataset, lengths: np.ndarray | None, shown: Path | str) -> Camera:
    """A JPEG camera; its size comes from frame 0's JPEG header (read, not decoded)."""
    frames, padded = (int(v) for v in node.shape)
    if lengths is not None:
        if len(lengths) < frames or not np.all((lengths[:frames] > 0) & (lengths[:frames] <= padded)):
            problem = f"JPEG byte counts must be {frames} values in 1..{padded}, found {lengths.tolist()[:8]}"
            raise SourceError(shown, problem, node.name)
        lengths = lengths[:frames].astype(np.int64)
    if frames == 0:
        return Camera(node, 0, 0, 0, True, lengths)
    raw = node[0, : int(lengths[0])] if lengths is not None else node[0]
    try:
        width, height = open_image(raw.tobytes(), ("JPEG",)).size
    except ImageDecodeError as exc:
        raise SourceError(shown, f"frame 0 is not a JPEG image ({exc})", node.name) from None
    return Camera(node, frames, height, width, True, lengths)


def gripper_columns(chosen: list[int] | None, columns: int, shown: Path | str) -> list[int]:
    """The qpos columns read as observation.gripper: `chosen`, or [6, 13] for ALOHA's 14 columns."""
    if chosen is None:
        return list(ACT_GRIPPER_INDEXES) if columns == 14 else []
    bad = [i for i in chosen if not 0 <= i < columns]
    if bad:
        problem = f"has {columns} columns: gripper_indexes {bad} are out of range"
        raise SourceError(shown, problem, "/observations/qpos")
    return list(chosen)


class AlohaEpisode:
    """One open episode file, given the scan's locator (fps, gripper_indexes, swap). Arrays are read by
    slice; frames one at a time (ACT stores one raw frame per chunk; a JPEG frame is one row)."""

    def __init__(self, path: Path, locator: dict) -> None:
        self.path = path
        self.fps = float(locator.get("fps", 50.0))
        self.swap = bool(locator.get("swap", True))
        self.file = checks.open_file(path, path)
        with checks.closed_on_failure(self.file, path):
            self.layout = Layout(self.file, path)
            columns = int(self.layout.qpos.shape[1]) if self.layout.qpos is not None else 0
            self.grippers = gripper_columns(locator.get("gripper_indexes"), columns, path)

    @property
    def length(self) -> int:
        return self.layout.length

    def cameras(self) -> dict[str, tuple[int, int, int]]:
        return {name: (c.frames, c.height, c.width) for name, c in self.layout.cameras.items()}

    def arrays(self, names: Sequence[str], selection: slice) -> dict[str, np.ndarray]:
        """timestamp (float64 s, frame / fps), action, observation.state / velocity (N x D as stored) and
        observation.gripper (N x G, the gripper columns of qpos) over `selection`."""
        sources = self.layout.trajectories()
        out: dict[str, np.ndarray] = {}
        for name in names:
            if name == "timestamp":
                out[name] = checks.timestamps(selection, self.length, self.fps)
            elif sources.get(name) is not None:
                out[name] = checks.read_rows(sources[name], selection, self.length, self.path)
            elif name == "observation.gripper" and self.grippers and self.layout.qpos is not None:
                out[name] = checks.read_rows(self.layout.qpos, selection, self.length, self.path)[
                    :, self.grippers
                ]
        return out

    def frames(self, camera: str, indices: Sequence[int]) -> list[np.ndarray]:
        """RGB H x W x 3 uint8 frames in the order asked; JPEG frames decoded with Pillow. A frame that
        does not decode is a SourceError naming the camera's dataset."""
        cam = self.layout.cameras.get(camera)
        if cam is None:
            raise unknown_camera(camera, list(self.layout.cameras))
        check_frames(camera, cam.frames, indices)
        out = []
        for index in indices:
            try:
                if not cam.jpeg:
                    out.append(cam.dataset[index])
                    continue
                end = int(cam.jpeg_lengths[index]) if cam.jpeg_lengths is not None else None
                raw = cam.dataset[index, :end]
            except checks.READ_ERRORS as exc:
                raise SourceError(
                    self.path, f"frame {index} cannot be read ({exc})", cam.dataset.name
                ) from None
            out.append(self._decode(cam, index, raw))
        return out

    def _decode(self, cam: Camera, index: int, raw: np.ndarray) -> np.ndarray:
        try:
            pixels = decode_rgb(raw.tobytes(), ("JPEG",))
        except ImageDecodeError as exc:
            problem = f"frame {index} does not decode as JPEG ({exc})"
            raise SourceError(self.path, problem, cam.dataset.name) from None
        if pixels.shape[:2] != (cam.height, cam.width):
            problem = (
                f"frame {index} is {pixels.shape[1]} x {pixels.shape[0]}, frame 0 {cam.width} x {cam.height}"
            )
            raise SourceError(self.path, problem, cam.dataset.name)
        # cv2.imencode took the RGB frame as BGR: undo the swap a standard decoder leaves.
        return np.ascontiguousarray(pixels[..., ::-1]) if self.swap else pixels

    def close(self) -> None:
        self.file.close()
