"""LeRobot's `meta/info.json` read into a `Layout` (cached per version of the file): features, cameras,
which feature goes to which standard name, joint names and the file-path templates; and the pieces of an
EpisodeScan that both layouts build alike.

Matches LeRobot's own reading (`LeRobotDatasetMetadata`, `get_hf_features_from_features`): features are
keyed by their dotted names, cameras are the features of dtype "video" (frames in MP4 files) or "image"
(PNG bytes inside the parquet rows), `data_path`/`video_path` are `str.format` templates.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from persistence.episode_sources.base import (
    IMAGE_PREFIX,
    TASK_INDEX,
    TRAJECTORY_DATASETS,
    EpisodeScan,
    SourceError,
)
from persistence.episode_sources.lerobot_parquet import Lru, version

INFO_PATH = "meta/info.json"
V30, V21 = "v3.0", "v2.1"
VERSIONS = {"v3.0": V30, "v2.1": V21, "v2.0": V21}  # v2.0 has v2.1's layout without episodes_stats.jsonl
NUMERIC = {f"{k}{b}" for k in ("int", "uint") for b in (8, 16, 32, 64)} | {"float16", "float32", "float64"}
# Every dtype LeRobot writes; any other is a SourceError (nothing is skipped silently).
KNOWN_DTYPES = NUMERIC | {"bool", "string", "video", "image", "language"}
VELOCITY_KEYS = ("observation.velocity", "observation.joint_velocities", "observation.joint_velocity")
EE_POSE_KEYS = ("observation.ee_pose", "observation.eef_pose", "observation.end_effector_pose")
GRIPPER_KEYS = ("observation.gripper", "observation.gripper_position")

_layouts = Lru(64)


@dataclass(frozen=True)
class Camera:
    name: str  # short name: "front" for "observation.images.front"
    key: str  # the feature key, also the parquet column (images) and the video folder name
    kind: str  # "video" or "image"
    height: int
    width: int
    codec: str | None  # info.json's video.codec, when given


@dataclass(frozen=True)
class Layout:
    """What `meta/info.json` says about a dataset."""

    root: Path
    version: str  # V30 or V21 (the layout); `info["codebase_version"]` is the exact version
    fps: float
    info: dict
    features: dict[str, dict]
    cameras: dict[str, Camera]  # by short name, in features order
    # standard name (TRAJECTORY_DATASETS, TASK_INDEX) -> feature key; observation.gripper may instead come
    # from `gripper_columns` of observation.state.
    columns: dict[str, str]
    gripper_columns: tuple[int, ...] = ()
    joint_names: list[str] = field(default_factory=list)

    @property
    def info_path(self) -> Path:
        return self.root / INFO_PATH

    def path(self, template: str, **fields: Any) -> str:
        """A file path from info.json's `data_path` or `video_path` template (relative to the root)."""
        pattern = self.info.get(template)
        if not isinstance(pattern, str):
            raise SourceError(
                self.info_path, f"{template} is missing (a str.format template is needed)", template
            )
        try:
            return pattern.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise SourceError(
                self.info_path, f"{template} {pattern!r} cannot be filled ({exc!r})", template
            ) from None

    def default_tolerance(self) -> float:
        """LeRobot's tolerance for a frame's time: `LeRobotDataset(tolerance_s=1e-4)`, its default, so that
        a frame LeRobot's reader refuses is refused here too."""
        return 1e-4


def read_layout(root: Path) -> Layout:
    """Parse `root/meta/info.json` (cached per version of the file); SourceError naming it when it is
    missing, not JSON, of an unknown codebase_version, or has a feature LeRobot's dtypes do not cover."""
    path = root / INFO_PATH
    if not path.is_file():
        raise SourceError(path, "missing: a LeRobot dataset has meta/info.json")
    return _layouts.get(version(path), lambda: _parse(root, path))


def _parse(root: Path, path: Path) -> Layout:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(path, f"unreadable ({exc})") from None
    if not isinstance(info, dict):
        raise SourceError(path, "not a JSON object")
    version = VERSIONS.get(str(info.get("codebase_version")))
    if version is None:
        raise SourceError(
            path,
            f"codebase_version {info.get('codebase_version')!r} is not v2.0, v2.1 or v3.0",
            "codebase_version",
        )
    fps = info.get("fps")
    if not isinstance(fps, int | float) or isinstance(fps, bool) or not math.isfinite(fps) or fps <= 0:
        raise SourceError(path, f"fps must be a positive number, not {fps!r}", "fps")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        raise SourceError(path, "features must be a non-empty object", "features")
    for key, feature in features.items():
        if not isinstance(feature, dict) or feature.get("dtype") not in KNOWN_DTYPES:
            dtype = feature.get("dtype") if isinstance(feature, dict) else feature
            raise SourceError(path, f"feature dtype {dtype!r} cannot be mapped", f"features/{key}/dtype")
        if not isinstance(feature.get("shape", [1]), list | tuple):
            raise SourceError(
                path, f"shape must be a list, not {feature.get('shape')!r}", f"features/{key}/shape"
            )
    cameras = _cameras(path, features)
    columns, gripper = _columns(path, features)
    state = features.get("observation.state", {})
    return Layout(
        root=root,
        version=version,
        fps=float(fps),
        info=info,
        features=features,
        cameras=cameras,
        columns=columns,
        gripper_columns=gripper,
        joint_names=_names(state.get("names")),
    )


def _names(names: Any) -> list[str]:
    """Feature names as LeRobot writes them: a list, or a dict of lists such as {"motors": [...]}."""
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        return [str(n) for value in names.values() if isinstance(value, list) for n in value]
    return []


def short_name(key: str) -> str:
    return key.removeprefix(IMAGE_PREFIX) if key.startswith(IMAGE_PREFIX) else key.rsplit(".", 1)[-1]


def _cameras(path: Path, features: dict[str, dict]) -> dict[str, Camera]:
    cameras: dict[str, Camera] = {}
    for key, feature in features.items():
        if feature["dtype"] not in ("video", "image"):
            continue
        info = feature.get("info") or feature.get("video_info") or {}
        if info.get("video.is_depth_map"):
            continue  # depth maps (gray12) are not RGB cameras: listed unmapped
        height, width = _size(path, key, feature, info)
        codec = info.get("video.codec") if feature["dtype"] == "video" else None
        if codec is not None:
            try:
                av.Codec(str(codec), "r")
            except Exception:  # av.codec.codec.UnknownCodecError and its kin
                raise SourceError(
                    path, f"unknown video codec {codec!r}", f"features/{key}/info/video.codec"
                ) from None
        name = short_name(key)
        if name in cameras:
            name = key  # two features with the same last part keep their full names
        cameras[name] = Camera(name, key, feature["dtype"], height, width, codec)
    return cameras


def _size(path: Path, key: str, feature: dict, info: dict) -> tuple[int, int]:
    if isinstance(info.get("video.height"), int) and isinstance(info.get("video.width"), int):
        return info["video.height"], info["video.width"]
    shape = list(feature.get("shape") or [])
    names = feature.get("names")
    if len(shape) == 3 and all(isinstance(s, int) for s in shape):
        if isinstance(names, list) and "height" in names and "width" in names:
            return shape[names.index("height")], shape[names.index("width")]
        # Without names: channels last (LeRobot's writers), or first when only the first fits a channel count.
        if shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
            return shape[1], shape[2]
        return shape[0], shape[1]
    raise SourceError(
        path, f"camera shape {shape!r} is not height x width x channels", f"features/{key}/shape"
    )


def _columns(path: Path, features: dict[str, dict]) -> tuple[dict[str, str], tuple[int, ...]]:
    """Standard name -> feature key, and the observation.state elements that are grippers."""
    wanted = {
        "timestamp": ("timestamp",),
        "action": ("action",),
        "observation.state": ("observation.state",),
        "observation.velocity": VELOCITY_KEYS,
        "observation.ee_pose": EE_POSE_KEYS,
        "observation.gripper": GRIPPER_KEYS,
        TASK_INDEX: (TASK_INDEX,),
    }
    columns: dict[str, str] = {}
    for target, keys in wanted.items():
        key = next((k for k in keys if k in features), None)
        if key is None:
            continue
        if features[key]["dtype"] not in NUMERIC:
            raise SourceError(
                path, f"dtype {features[key]['dtype']!r} cannot be read as {target}", f"features/{key}/dtype"
            )
        columns[target] = key
    gripper: tuple[int, ...] = ()
    if "observation.gripper" not in columns and "observation.state" in columns:
        names = _names(features["observation.state"].get("names"))
        gripper = tuple(i for i, n in enumerate(names) if "gripper" in n.lower())
    return columns, gripper


def stat_file(path: Path, problem: str, where: str = "") -> os.stat_result:
    """The file's stat; SourceError(path, problem, where) when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        raise SourceError(path, problem, where) from None
    if not path.is_file():
        raise SourceError(path, problem, where)
    return st


def episode_scan(
    layout: Layout,
    index: int,
    data_file: str,
    length: int,
    task_indexes: list[int],
    locator: dict,
    st: os.stat_result,
) -> EpisodeScan:
    """An EpisodeScan from metadata: every camera has a frame per row, sized as info.json declares."""
    mapped = set(layout.columns) | ({"observation.gripper"} if layout.gripper_columns else set())
    return EpisodeScan(
        index=index,
        file=data_file,
        length=length,
        duration=length / layout.fps,
        cameras={c.name: [length, c.height, c.width] for c in layout.cameras.values()},
        missing=[name for name in TRAJECTORY_DATASETS if name not in mapped],
        file_size=st.st_size,
        file_mtime=st.st_mtime,
        task_indexes=task_indexes,
        locator=locator,
    )


def reporter(total: int, progress: Callable[[float, str], None] | None) -> Callable[[int], None]:
    """Calls `progress` about a hundred times over `total` episodes (and at the last)."""
    step = max(1, total // 100)

    def report(done: int) -> None:
        if progress is not None and (done % step == 0 or done == total):
            progress(done / total, f"{done} of {total} episodes")

    return report
