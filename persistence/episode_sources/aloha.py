"""ALOHA episodes: the HDF5 files of ACT (tonyzhaozh/act, `record_sim_episodes.py`, `record_episodes.py`)
and Mobile ALOHA (MarkFzp/act-plus-plus, mobile-aloha), one episode per `episode_<N>.hdf5`.

Layout read (all N rows, one per control step):
- `/observations/qpos` N x D -> observation.state (bimanual ALOHA: D = 14 = 2 x (6 arm joints + 1
  gripper)); its gripper columns (6 and 13 by default) -> observation.gripper N x G;
- `/observations/qvel` N x D -> observation.velocity; `/action` N x A -> action;
- `/observations/images/<camera>`: raw frames N x H x W x 3 uint8, or JPEG bytes N x L uint8 zero-padded
  (act-plus-plus `compress_data.py`, Mobile ALOHA `record_episodes.py` with compression), each frame's
  byte count in the dataset `/compress_len` (cameras x N, rows in the image group's name order, as those
  tools' readers take them) or an attribute `compress_len`; decoded with Pillow;
- `/observations/effort`, `/base_action` (Mobile ALOHA's base velocity), `compress_len`, the attributes
  `sim` and `compress`, and anything else: listed in the mapping, not read as trajectories.
The files have no clock: frame i is at i / fps seconds (Options.fps, 50 Hz by ALOHA's convention).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import h5py
from pydantic import BaseModel, ConfigDict, Field

from persistence.episode_sources import hdf5_checks as checks
from persistence.episode_sources.aloha_episode import AlohaEpisode, Layout, gripper_columns
from persistence.episode_sources.base import (
    TRAJECTORY_DATASETS,
    DatasetScan,
    EpisodeScan,
    FieldMapping,
    SourceError,
    SourceRef,
    episode_sort_key,
)

FORMAT = "ALOHA"
EPISODE_GLOB = "episode_*.hdf5"
# ACT's constants.py: JOINT_NAMES per arm plus the gripper, left arm then right arm.
_ARM = ["waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper"]
ACT_JOINT_NAMES = [f"{side}_{joint}" for side in ("left", "right") for joint in _ARM]
IMAGES = "/observations/images"
# Datasets this module reads or knows; everything else in a file is listed as unknown.
_KNOWN = {
    "/observations/qpos": "observation.state",
    "/observations/qvel": "observation.velocity",
    "/action": "action",
    "/observations/effort": None,
    "/base_action": None,
    "/compress_len": None,
}
_NOTES = {
    "/observations/effort": "joint efforts (motor currents/torques): no standard name",
    "/base_action": "Mobile ALOHA base command (linear, angular velocity): kept apart from the arm action",
    "/compress_len": "byte count of each JPEG frame (cameras x N): used to decode the cameras",
}


class Options(BaseModel):
    """What an ALOHA file cannot say itself."""

    model_config = ConfigDict(extra="forbid")

    fps: float = Field(
        50.0,
        gt=0,
        description="Frames per second. The files hold no timestamps: frame i is at i / fps seconds. "
        "Default 50: ALOHA records at 50 Hz (ACT's DT = 0.02 s).",
    )
    joint_names: list[str] | None = Field(
        None,
        description="Names of the /observations/qpos columns, in order. Default: ACT's names (left_waist, "
        "left_shoulder, left_elbow, left_forearm_roll, left_wrist_angle, left_wrist_rotate, left_gripper, "
        "then right_...) when qpos has 14 columns, else joint_0, joint_1, ...",
    )
    gripper_indexes: list[int] | None = Field(
        None,
        description="Columns of /observations/qpos that are grippers, read as observation.gripper (N x G). "
        "Default: [6, 13] when qpos has 14 columns (bimanual ALOHA), else none; [] for none.",
    )
    jpeg_swap_red_blue: bool = Field(
        True,
        description="JPEG-compressed cameras only: swap red and blue after decoding. Default true: ACT and "
        "Mobile ALOHA encode RGB frames with OpenCV's cv2.imencode, which takes its input as BGR, so a "
        "standard decoder returns red and blue swapped. False for JPEGs encoded from RGB by other tools.",
    )


def detect(path: Path) -> bool:
    """A `.hdf5`/`.h5` file, or a folder's first `episode_*.hdf5`, holding `/observations/qpos`."""
    try:
        if path.is_dir():
            files = sorted(path.glob(EPISODE_GLOB), key=lambda p: episode_sort_key(p.name))
            return bool(files) and _looks_like_aloha(files[0])
        return path.suffix.lower() in (".hdf5", ".h5") and _looks_like_aloha(path)
    except Exception:  # detection never raises: any failure means "not this format"
        return False


def _looks_like_aloha(file: Path) -> bool:
    if not checks.has_signature(file):
        return False
    with h5py.File(file, "r") as f:
        return (
            "observations" in f and isinstance(f["observations"], h5py.Group) and "qpos" in f["observations"]
        )


def _mapping(f: h5py.File, layout: Layout, grippers: list[int], swap: bool) -> list[FieldMapping]:
    """Every dataset and attribute of the file, mapped or not."""
    entries = []
    for path, node in checks.walk(f):
        for name, value in node.attrs.items():
            shape, dtype = checks.attr_description(value)
            note = {
                "sim": "True when recorded in simulation; kept in features",
                "compress": "True when the cameras hold JPEG bytes",
            }.get(name, "attribute not part of the ALOHA layout: not read")
            entries.append(FieldMapping(checks.attr_where(node, name), None, shape, dtype, note))
        if not isinstance(node, h5py.Dataset):
            continue
        shape, dtype = [int(v) for v in node.shape[1:]], str(node.dtype)
        camera = path.rsplit("/", 1)[-1] if path.startswith(IMAGES + "/") else None
        if camera in layout.cameras:
            note = "raw RGB frames"
            if layout.cameras[camera].jpeg:
                note = "JPEG bytes decoded with Pillow" + (
                    ", red and blue swapped (cv2.imencode of RGB)" if swap else ""
                )
            entries.append(FieldMapping(path, f"camera:{camera}", shape, dtype, note))
        elif camera is not None:
            entries.append(FieldMapping(path, None, shape, dtype, layout.unread_images[camera]))
        elif path in _KNOWN:
            entries.append(FieldMapping(path, _KNOWN[path], shape, dtype, _NOTES.get(path, "")))
            if path == "/observations/qpos" and grippers:
                note = f"columns {', '.join(map(str, grippers))}"
                entries.append(FieldMapping(path, "observation.gripper", [len(grippers)], dtype, note))
        else:
            entries.append(
                FieldMapping(path, None, shape, dtype, "dataset not part of the ALOHA layout: not read")
            )
    return entries


def _locator(options: Options) -> dict:
    # The reader needs the options that shape what it returns; a changed option also invalidates reuse.
    return {
        "fps": options.fps,
        "gripper_indexes": options.gripper_indexes,
        "swap": options.jpeg_swap_red_blue,
    }


def _episode_files(path: Path) -> list[tuple[str, Path, int]]:
    """(file relative to `path`, its path, episode index) in numeric order."""
    if path.is_file():
        match = re.fullmatch(r"episode_(\d+)", path.stem)
        return [("", path, int(match.group(1)) if match else 0)]
    if not path.is_dir():
        raise SourceError(path, "is neither a folder nor a file")
    files = sorted(path.glob(EPISODE_GLOB), key=lambda p: episode_sort_key(p.name))
    if not files:
        raise SourceError(path, f"holds no {EPISODE_GLOB} files")
    found: list[tuple[str, Path, int]] = []
    seen: dict[int, str] = {}
    for file in files:
        match = re.fullmatch(r"episode_(\d+)", file.stem)
        if not match:
            raise SourceError(file.name, "file name must be episode_<number>.hdf5")
        index = int(match.group(1))
        if index in seen:
            raise SourceError(file.name, f"numbers the same episode {index} as {seen[index]}")
        seen[index] = file.name
        found.append((file.name, file, index))
    return found


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    """Shapes and attributes of every episode file (frames are never read; a JPEG camera's size comes from
    its first frame's header). Files unchanged since `previous` (same size, mtime and options) are not
    reopened, except the first, whose structure gives the dataset's joint names, features and robot."""
    files = _episode_files(path)
    locator = _locator(options)
    episodes: list[EpisodeScan] = []
    cameras: dict[str, None] = {}
    mapping: dict[tuple[str, str | None], FieldMapping] = {}
    described: dict = {}
    for done, (relative, file, index) in enumerate(files, start=1):
        shown = relative or file.name
        try:
            stat = file.stat()
        except OSError as exc:
            raise SourceError(shown, f"cannot be read ({exc})") from None
        old = (previous or {}).get(relative)
        if (
            done > 1
            and old is not None
            and (old.file_size, old.file_mtime) == (stat.st_size, stat.st_mtime)
            and old.locator == locator
        ):
            episode = old
        else:
            episode, entries, description = _scan_file(file, relative, index, stat, options, done == 1)
            described = described or description
            for entry in entries:
                mapping.setdefault((entry.source, entry.target), entry)
        episodes.append(episode)
        cameras.update(dict.fromkeys(episode.cameras))
        if progress:
            progress(done / len(files), f"indexed {done} of {len(files)} episodes")
    return DatasetScan(
        format=FORMAT,
        name=path.name if path.is_dir() else path.stem,
        fps=options.fps,
        episodes=episodes,
        robot_type="mobile_aloha" if described["mobile"] else "aloha",
        cameras=list(cameras),
        joint_names=described["joint_names"],
        features=described["features"],
        mapping=list(mapping.values()),
        clock=f"no clock in the files: frame i at i / {options.fps:g} s (fps option)",
    )


def _scan_file(
    file: Path, relative: str, index: int, stat: os.stat_result, options: Options, describe: bool
) -> tuple[EpisodeScan, list[FieldMapping], dict]:
    """One file's episode, its mapping entries, and when `describe` the dataset's description (joint
    names, features, whether it is Mobile ALOHA)."""
    shown = relative or file.name
    with checks.open_file(file, shown) as f:
        try:
            layout = Layout(f, shown)
            columns = int(layout.qpos.shape[1]) if layout.qpos is not None else 0
            grippers = gripper_columns(options.gripper_indexes, columns, shown)
            entries = _mapping(f, layout, grippers, options.jpeg_swap_red_blue)
            description = {}
            if describe:
                description = {
                    "joint_names": _joint_names(options, columns, shown),
                    "features": {**_features(f, layout, grippers), "sim": layout.sim},
                    "mobile": "base_action" in f,
                }
        except SourceError:
            raise
        except checks.READ_ERRORS as exc:
            raise SourceError(shown, f"unreadable or truncated HDF5 file ({exc})") from None
    present = {"timestamp", *(name for name, d in layout.trajectories().items() if d is not None)}
    present |= {"observation.gripper"} if grippers else set()
    episode = EpisodeScan(
        index=index,
        file=relative,
        length=layout.length,
        duration=layout.length / options.fps,
        cameras={n: [c.frames, c.height, c.width] for n, c in layout.cameras.items()},
        missing=[n for n in TRAJECTORY_DATASETS if n not in present],
        file_size=stat.st_size,
        file_mtime=stat.st_mtime,
        locator=_locator(options),
    )
    return episode, entries, description


def _joint_names(options: Options, columns: int, shown: str) -> list[str]:
    if options.joint_names is not None:
        if len(options.joint_names) != columns:
            raise SourceError(
                shown,
                f"has {columns} columns, joint_names names {len(options.joint_names)}",
                "/observations/qpos",
            )
        return list(options.joint_names)
    return list(ACT_JOINT_NAMES) if columns == 14 else [f"joint_{i}" for i in range(columns)]


def _features(f: h5py.File, layout: Layout, grippers: list[int]) -> dict:
    """The first file's datasets (per-frame shape and dtype) and camera encodings, JSON-able."""
    datasets = {
        path: {"shape": [int(v) for v in node.shape[1:]], "dtype": str(node.dtype)}
        for path, node in checks.walk(f)
        if isinstance(node, h5py.Dataset)
    }
    cams = {
        name: {"encoding": "jpeg" if c.jpeg else "raw", "height": c.height, "width": c.width}
        for name, c in layout.cameras.items()
    }
    return {"datasets": datasets, "cameras": cams, "gripper_indexes": grippers}


def open_episode(ref: SourceRef, videos: object) -> AlohaEpisode:
    """The episode file `ref.path`, read with the options its scan recorded in the locator."""
    return AlohaEpisode(ref.path, ref.details())
