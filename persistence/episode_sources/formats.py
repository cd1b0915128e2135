"""Which module reads which format, detecting a path's format, and checking registration options.

Detection goes from the most specific marker to the least: LeRobot's `meta/info.json`, our
`info.json` + `episodes/`, a robomimic file (`/data/demo_*`), ALOHA files (`/observations/qpos`),
ROS bags (`.bag`, rosbag2 `metadata.yaml`), plain MCAP files.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

# Dataset.format -> module; in detection order. VIDEO datasets come from uploads only.
MODULES = {
    "LEROBOT": "persistence.episode_sources.lerobot",
    "HDF5": "persistence.episode_sources.hdf5",
    "ROBOMIMIC": "persistence.episode_sources.robomimic",
    "ALOHA": "persistence.episode_sources.aloha",
    "ROSBAG": "persistence.episode_sources.rosbag",
    "MCAP": "persistence.episode_sources.mcap",
    "VIDEO": "persistence.episode_sources.video",
}
REGISTRABLE = tuple(f for f in MODULES if f != "VIDEO")
# What each format's detection looks for, for the error that says why a path was not recognised.
EXPECTED = {
    "LEROBOT": "a folder with meta/info.json naming a codebase_version",
    "HDF5": "a folder with info.json and episodes/episode_*.hdf5",
    "ROBOMIMIC": "an HDF5 file (or a folder of one) with data/demo_*",
    "ALOHA": "HDF5 files (or a folder of them) with /observations/qpos",
    "ROSBAG": "ROS 1 .bag files or rosbag2 folders (metadata.yaml), or a folder of them",
    "MCAP": ".mcap files, or a folder of them",
}


def module(format: str) -> ModuleType:
    try:
        return importlib.import_module(MODULES[format])
    except KeyError:
        raise ValueError(f"unknown format {format!r} (known: {', '.join(MODULES)})") from None


def detect_format(path: Path) -> str | None:
    """The first format whose `detect` recognises `path` (a folder or a file), or None."""
    for format in REGISTRABLE:
        if module(format).detect(path):
            return format
    return None


def check(format: str, path: Path, options: BaseModel) -> None:
    """The format's quick check before a job exists (its own metadata file, read at once), if it has one;
    raises SourceError."""
    quick = getattr(module(format), "check", None)
    if quick is not None:
        quick(path, options)


def options_model(format: str) -> type[BaseModel]:
    return module(format).Options


def options_schemas() -> dict[str, dict]:
    """Each registrable format's options as JSON Schema, for a registration form."""
    return {format: options_model(format).model_json_schema() for format in REGISTRABLE}
