"""robomimic datasets: ONE HDF5 file of many demos, as robomimic's docs/datasets/overview.md describes it
and its conversion scripts (`dataset_states_to_obs.py`, `convert_robosuite.py`) write it.

Layout read (per demo, N = the group's `num_samples` attribute):
- `data/demo_<k>/obs/<robot>_joint_pos` N x J -> observation.state (absent: the state is missing),
  `<robot>_joint_vel` -> observation.velocity, `<robot>_eef_pos` N x 3 + `<robot>_eef_quat` N x 4 ->
  observation.ee_pose N x 7 (position then quaternion x, y, z, w, as stored), `<robot>_gripper_qpos`
  N x 2 -> observation.gripper; `actions` N x A -> action;
- `obs/<name>_image` N x H x W x 3 uint8 -> camera `<name>` (agentview, robot0_eye_in_hand);
- `data` attributes `env_args` (JSON: env_name -> dataset name and task, env_kwargs.robots -> robot type,
  env_kwargs.control_freq -> fps) and `total`; each demo's `ep_meta` JSON `lang` (robocasa) -> its task;
- `mask/<filter key>` (lists of demo names, e.g. train/valid) -> features["filter_keys"];
- `states`, `rewards`, `dones`, `next_obs/*`, other obs keys, `model_file` and the rest: listed unmapped.
Demos are ordered like robomimic's SequenceDataset (by the number in `demo_<k>`); episode index = k.
The file has no clock: frame i is at i / fps seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import h5py
from pydantic import BaseModel, ConfigDict, Field

from persistence.episode_sources import hdf5_checks as checks
from persistence.episode_sources.base import (
    TRAJECTORY_DATASETS,
    DatasetScan,
    EpisodeScan,
    FieldMapping,
    SourceError,
    SourceRef,
    episode_sort_key,
)
from persistence.episode_sources.robomimic_demo import DEFAULT_FPS, Demo, RobomimicEpisode

FORMAT = "ROBOMIMIC"
DEMO = re.compile(r"demo_(\d+)")
SUFFIXES = (".hdf5", ".h5")
# Detection opens at most this many HDF5 files of a folder: a robomimic folder holds one dataset file.
_DETECT_LIMIT = 4


class Options(BaseModel):
    """What a robomimic file cannot say itself."""

    model_config = ConfigDict(extra="forbid")

    fps: float | None = Field(
        None,
        gt=0,
        description="Frames per second (the file holds no timestamps: frame i is at i / fps seconds). "
        "Default: env_kwargs.control_freq from the file's env_args when present, else 20 Hz, robosuite's "
        "default control frequency.",
    )
    robot: str = Field(
        "robot0",
        min_length=1,
        description="Prefix of the robot's observation keys (robosuite names them robot0_joint_pos, "
        "robot1_joint_pos, ...). Default robot0.",
    )


def detect(path: Path) -> bool:
    """An HDF5 file with a `data` group holding `demo_*` groups, or a folder holding exactly one."""
    try:
        return _find_file(path, path) is not None if path.is_dir() else _is_robomimic(path)
    except Exception:  # detection never raises: any failure means "not this format"
        return False


def _is_robomimic(file: Path) -> bool:
    if file.suffix.lower() not in SUFFIXES or not checks.has_signature(file):
        return False
    with h5py.File(file, "r") as f:
        data = f.get("data")
        return isinstance(data, h5py.Group) and any(DEMO.fullmatch(k) for k in data)


def _find_file(folder: Path, shown: Path) -> str | None:
    """The name of the one robomimic file in `folder`; None when there is none."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if len(files) > _DETECT_LIMIT:
        return None
    found = [p.name for p in files if _is_robomimic(p)]
    if len(found) > 1:
        raise SourceError(
            shown, f"holds {len(found)} robomimic files ({', '.join(found)}): register one of them"
        )
    return found[0] if found else None


def _resolve(path: Path) -> tuple[Path, str]:
    """(the dataset file, its name relative to `path`: "" when `path` is the file)."""
    if path.is_file():
        return path, ""
    if not path.is_dir():
        raise SourceError(path, "is neither a folder nor a file")
    try:
        name = _find_file(path, path)
    except OSError as exc:
        raise SourceError(path, f"cannot be listed ({exc})") from None
    if name is None:
        raise SourceError(path, "holds no robomimic .hdf5 file (a data group with demo_* groups)")
    return path / name, name


def _demos(data: h5py.Group, shown: str) -> list[tuple[int, str]]:
    """(demo number, group name) in numeric order."""
    found = sorted((k for k in data if DEMO.fullmatch(k)), key=episode_sort_key)
    if not found:
        raise SourceError(shown, "holds no demo_<k> groups", "/data")
    numbers: dict[int, str] = {}
    for name in found:
        number = int(DEMO.fullmatch(name).group(1))  # type: ignore[union-attr]
        if number in numbers:
            raise SourceError(shown, f"numbers the same demo {number} as {numbers[number]}", f"/data/{name}")
        numbers[number] = name
    return list(numbers.items())


def _env(data: h5py.Group, shown: str) -> tuple[dict, str | None, str | None, float | None]:
    """(env_args, env name, robot type, control frequency) from `/data.attrs[env_args]`."""
    env_args = checks.json_attr(data, "env_args", shown) or {}
    where = checks.attr_where(data, "env_args")
    kwargs = env_args.get("env_kwargs") or {}
    name = env_args.get("env_name")
    if not isinstance(kwargs, dict) or not isinstance(name, str | None):
        raise SourceError(shown, "env_name must be a string and env_kwargs an object", where)
    robots = kwargs.get("robots")
    robots = [robots] if isinstance(robots, str) else robots
    robot_type = ",".join(map(str, robots)) if isinstance(robots, list) and robots else None
    freq = kwargs.get("control_freq")
    if freq is not None and (isinstance(freq, bool) or not isinstance(freq, int | float) or freq <= 0):
        raise SourceError(shown, f"env_kwargs.control_freq must be a positive number, found {freq!r}", where)
    return env_args, name, robot_type, float(freq) if freq is not None else None


def _filter_keys(f: h5py.File, shown: str) -> dict[str, list[str]]:
    """robomimic's `mask/<key>`: each a 1-D array of demo names (bytes)."""
    mask = checks.subgroup(f, "mask", shown)
    keys = {}
    for key in mask or {}:
        node = checks.array(mask, key, shown, ndims=(1,), numeric=False)
        assert node is not None  # `key` is one of mask's members
        if node.dtype.kind not in "SOU":
            raise SourceError(
                shown, f"must list demo names, found dtype {node.dtype}", checks.where(mask, key)
            )
        keys[key] = [v.decode() if isinstance(v, bytes) else str(v) for v in node[()]]
    return keys


def _mapping(f: h5py.File, demos: Mapping[str, Demo], robot: str) -> list[FieldMapping]:
    """Every dataset and attribute, demo paths generalised to `demo_*`, mapped or not."""
    targets = {
        f"obs/{robot}_joint_pos": ("observation.state", ""),
        f"obs/{robot}_joint_vel": ("observation.velocity", ""),
        f"obs/{robot}_eef_pos": ("observation.ee_pose", "columns 0-2 (position)"),
        f"obs/{robot}_eef_quat": ("observation.ee_pose", "columns 3-6 (quaternion x, y, z, w as stored)"),
        f"obs/{robot}_gripper_qpos": ("observation.gripper", ""),
        "actions": ("action", ""),
    }
    attr_notes = {
        "/data.attrs[env_args]": ("task", "JSON: env_name -> name and task, robots -> robot type"),
        "/data.attrs[total]": (None, "total frames of all demos; kept in features"),
        "/data/demo_*.attrs[num_samples]": (None, "the demo's frame count"),
        "/data/demo_*.attrs[ep_meta]": ("task", "JSON episode metadata: its lang, when present, is the task"),
        "/data/demo_*.attrs[model_file]": (None, "MuJoCo model XML of the demo: not read"),
    }
    entries: dict[tuple[str, str | None], FieldMapping] = {}
    nodes: list[tuple[str, h5py.Group | h5py.Dataset]] = [("/", f)]
    for key, node in f.items():
        if key == "data" and isinstance(node, h5py.Group):
            nodes.append(("/data", node))
            for name, item in node.items():
                nodes += checks.walk(demos[name].group) if name in demos else checks.walk(item)
        else:
            nodes += checks.walk(node)
    for path, node in nodes:
        general = re.sub(r"^/data/demo_\d+", "/data/demo_*", path)
        demo = demos.get(path.split("/")[2]) if general != path else None
        for name, value in node.attrs.items():
            source = f"{general}.attrs[{name}]"
            if (source, None) in entries or (source, "task") in entries:
                continue
            shape, dtype = checks.attr_description(value)
            target, note = attr_notes.get(
                source, (None, "attribute not part of the robomimic layout: not read")
            )
            entries[(source, target)] = FieldMapping(source, target, shape, dtype, note)
        if not isinstance(node, h5py.Dataset):
            continue
        relative = general.removeprefix("/data/demo_*/")
        target, note = targets.get(relative, (None, ""))
        if demo is not None and relative.startswith("obs/") and relative[4:] in demo.unread:
            target, note = None, demo.unread[relative[4:]]
        elif demo is not None and re.fullmatch(r"obs/.+_image", relative) and relative[4:-6] in demo.cameras:
            target, note = f"camera:{relative[4:-6]}", "RGB frames"
        elif target is None and not note:
            note = _unmapped_note(general)
        if (general, target) not in entries:
            # Per-frame shape for a demo's datasets; a mask's shape says nothing per frame.
            shape = [int(v) for v in node.shape[1:]] if demo is not None else None
            entries[(general, target)] = FieldMapping(general, target, shape, str(node.dtype), note)
    return sorted(entries.values(), key=lambda e: (e.source, e.target or ""))


def _unmapped_note(path: str) -> str:
    if path.startswith("/mask/"):
        return "filter key (a list of demos); kept in features['filter_keys']"
    if "/next_obs/" in path:
        return "next observation (the obs of the following step): not read"
    return {
        "/data/demo_*/states": "flattened simulator (MuJoCo) states: not read",
        "/data/demo_*/rewards": "per-step rewards: not read",
        "/data/demo_*/dones": "per-step done flags: not read",
    }.get(path, "dataset not part of the robomimic layout: not read")


def scan(
    path: Path,
    options: Options,
    previous: Mapping[str, EpisodeScan] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> DatasetScan:
    """Shapes and attributes of every demo (frames are never read). `previous` is not used: the demos
    share one file, so any change to it may change any demo."""
    file, relative = _resolve(path)
    shown = relative or file.name
    stat = file.stat()
    with checks.open_file(file, shown) as f:
        try:
            data = checks.subgroup(f, "data", shown)
            if data is None:
                raise SourceError(shown, "has no data group", "/data")
            env_args, env_name, robot_type, freq = _env(data, shown)
            fps = options.fps or freq or DEFAULT_FPS
            total = checks.int_attr(data, "total", shown)
            numbered = _demos(data, shown)
            demos: dict[str, Demo] = {}
            episodes: list[EpisodeScan] = []
            cameras: dict[str, None] = {}
            tasks: dict[str, int] = {}
            for done, (number, name) in enumerate(numbered, start=1):
                group = checks.subgroup(data, name, shown)
                demo = demos[name] = Demo(group, options.robot, shown)
                task = _task(group, env_name, shown)
                task_index = tasks.setdefault(task, len(tasks)) if task is not None else None
                cameras.update(dict.fromkeys(demo.cameras))
                episodes.append(
                    EpisodeScan(
                        index=number,
                        file=relative,
                        length=demo.length,
                        duration=demo.length / fps,
                        cameras={c: [int(v) for v in d.shape[:3]] for c, d in demo.cameras.items()},
                        missing=[n for n in TRAJECTORY_DATASETS if n not in demo.standard()],
                        file_size=stat.st_size,
                        file_mtime=stat.st_mtime,
                        task_indexes=[task_index] if task_index is not None else [],
                        locator={"group": f"data/{name}", "fps": fps, "robot": options.robot}
                        | ({"task_index": task_index} if task_index is not None else {}),
                    )
                )
                if progress:
                    progress(done / len(numbered), f"indexed {done} of {len(numbered)} demos")
            state = next(
                (d.arrays["observation.state"] for d in demos.values() if "observation.state" in d.arrays),
                None,
            )
            joints = [f"joint_{i}" for i in range(state.shape[1])] if state is not None else []
            features = {
                "env_args": env_args,
                "total": total,
                "filter_keys": _filter_keys(f, shown),
                "obs": _obs_features(next(iter(demos.values()))),
            }
            mapping = _mapping(f, demos, options.robot)
        except SourceError:
            raise
        except checks.READ_ERRORS as exc:
            raise SourceError(shown, f"unreadable or truncated HDF5 file ({exc})") from None
    return DatasetScan(
        format=FORMAT,
        name=env_name or file.stem,
        fps=fps,
        episodes=episodes,
        robot_type=robot_type,
        cameras=list(cameras),
        joint_names=joints,
        tasks=[(i, t) for t, i in tasks.items()],
        features=features,
        mapping=mapping,
        clock=f"no clock in the file: frame i at i / {fps:g} s",
    )


def _task(group: h5py.Group, env_name: str | None, shown: str) -> str | None:
    """The demo's `ep_meta` lang (robocasa's language instruction), else the environment's name."""
    meta = checks.json_attr(group, "ep_meta", shown) if "ep_meta" in group.attrs else None
    lang = (meta or {}).get("lang")
    return lang if isinstance(lang, str) and lang else env_name


def _obs_features(demo: Demo) -> dict:
    obs = demo.group.get("obs")
    if not isinstance(obs, h5py.Group):
        return {}
    return {
        key: {"shape": [int(v) for v in node.shape[1:]], "dtype": str(node.dtype)}
        for key, node in obs.items()
        if isinstance(node, h5py.Dataset)
    }


def open_episode(ref: SourceRef, videos: object) -> RobomimicEpisode:
    """The demo `ref.details()["group"]` of the file `ref.path`, read with the scan's fps and robot."""
    return RobomimicEpisode(ref.path, ref.details())
