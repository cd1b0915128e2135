"""Which detection models the server may load, and loading them without ever touching the network.

A model is either a file inside the configured models folder (`yolo11n.pt`, `team/best.pt`, `custom.yaml`)
or an architecture YAML that Ultralytics ships (`yolo11n.yaml`: an untrained network, built offline).
Nothing else: no absolute paths, no URLs, no names that Ultralytics would fetch from GitHub.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import Any

from domain.core.errors import BadUserInput
from domain.detection.errors import DetectorUnavailable, ModelLoadError

FIELD = "model"  # the request's model name (domain errors name domain fields: graph/field_paths.py)
INSTALL_HINT = "object detection needs Ultralytics and PyTorch: pip install 'annograph[detect]'"
MODEL_SUFFIXES = (".pt", ".yaml", ".yml")
# Tasks whose results carry `boxes`; classify and obb results do not.
DETECTION_TASKS = ("detect", "segment", "pose")
LISTING_MAX = 50
_PACKAGED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*\.ya?ml$")
# Ultralytics builds `yolo11n.yaml` from `yolo11.yaml` at scale n (ultralytics.nn.tasks.yaml_model_load).
_SCALE = re.compile(r"(\d+)([nslmx])(.+)?$")


@dataclass(frozen=True)
class ModelSpec:
    """What a worker loads; picklable and hashable, so it is also the key of the per-process model cache."""

    name: str  # as the user gave it; safe to show (never the server's absolute path)
    source: str  # absolute path of the file, or the packaged architecture's name
    packaged: bool  # True: an architecture YAML shipped with Ultralytics, untrained weights
    # (size, mtime_ns) of the file: a file replaced in the folder is a new cache key, so it is reloaded.
    stamp: tuple[int, int] = (0, 0)

    @property
    def untrained(self) -> bool:
        return self.source.lower().endswith((".yaml", ".yml"))


def _offline_environment() -> None:
    # Ultralytics reads these once, when it is imported: offline, it never downloads weights or fonts and
    # never pip-installs a module that a checkpoint names; a missing file fails at once instead of hanging.
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"


def require_ultralytics() -> ModuleType:
    """Import Ultralytics (and PyTorch) offline, or raise DetectorUnavailable with the install hint."""
    _offline_environment()
    try:
        import torch  # noqa: F401
        import ultralytics
    except ImportError as exc:
        raise DetectorUnavailable(INSTALL_HINT, missing=exc.name or "ultralytics") from None
    return ultralytics


def ultralytics_available() -> bool:
    try:
        require_ultralytics()
    except DetectorUnavailable:
        return False
    return True


def resolve_model(name: str, models_dir: Path, *, field: str = FIELD) -> ModelSpec:
    """The model `name` names, or BadUserInput(field=field) saying why it may not be loaded.

    A file in `models_dir` wins over a packaged architecture of the same name. Blocking (file system, and
    the Ultralytics import for packaged names): call it from a worker thread.
    """
    name = name.strip()
    if not name:
        raise BadUserInput("model must not be empty", field=field)
    if any(ord(c) < 32 for c in name):
        raise BadUserInput("model must not contain control characters", field=field)
    windows = PureWindowsPath(name)
    if "://" in name or name.startswith(("/", "\\", "~")) or windows.drive or windows.root:
        raise BadUserInput(
            f"model {name!r} must be a name inside the models folder, not an absolute path or URL",
            field=field,
        )
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise BadUserInput(f"model {name!r} must not contain '..'", field=field)

    root = models_dir.resolve()
    try:
        target = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise BadUserInput(f"model {name!r} cannot be resolved ({exc})", field=field) from None
    if not target.is_relative_to(root):
        raise BadUserInput(f"model {name!r} resolves outside the models folder (a symlink?)", field=field)
    if target.is_file():
        if target.suffix.lower() not in MODEL_SUFFIXES:
            raise BadUserInput(
                f"model {name!r} must be a .pt checkpoint or a .yaml architecture", field=field
            )
        stat = target.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        return ModelSpec(name=name, source=str(target), packaged=False, stamp=stamp)
    if target.exists():
        raise BadUserInput(f"model {name!r} is a folder, not a model file", field=field)
    if _PACKAGED_NAME.match(name) and _packaged_architecture(name, field):
        return ModelSpec(name=name, source=name, packaged=True)
    available = list_models(models_dir)
    held = ", ".join(available[:LISTING_MAX]) or "nothing"
    if len(available) > LISTING_MAX:
        held += f", ... ({len(available) - LISTING_MAX} more)"
    raise BadUserInput(
        f"unknown model {name!r}: neither a file in the models folder nor an architecture that Ultralytics "
        f"ships (such as yolo11n.yaml). The models folder holds: {held}",
        field=field,
        available=available,
    )


def list_models(models_dir: Path) -> list[str]:
    """The model files in the folder, as relative POSIX paths, sorted; links leading outside are left out."""
    root = models_dir.resolve()
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        if path.suffix.lower() in MODEL_SUFFIXES and path.is_file() and path.resolve().is_relative_to(root):
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def _packaged_architecture(name: str, field: str) -> bool:
    """Whether Ultralytics ships a detection architecture for `name`, resolved the way it will load it."""
    if "-world" in name or name.startswith("yoloe"):
        # Their text encoder is a download.
        raise BadUserInput(
            f"model {name!r}: open-vocabulary models (YOLO-World, YOLOE) are not supported", field=field
        )
    require_ultralytics()
    from ultralytics.nn.tasks import guess_model_task
    from ultralytics.utils import ROOT, YAML
    from ultralytics.utils.checks import check_yaml

    shipped = (ROOT / "cfg" / "models").resolve()
    # A plain file name (checked by the caller) is only searched for on disk, never downloaded.
    found = check_yaml(name, hard=False) or check_yaml(_SCALE.sub(r"\1\3", name), hard=False)
    if not found or not Path(found).resolve().is_relative_to(shipped):
        return False
    task = guess_model_task(YAML.load(found))
    if task not in DETECTION_TASKS:
        raise BadUserInput(
            f"model {name!r} is a {task} architecture; detection needs one of: {', '.join(DETECTION_TASKS)}",
            field=field,
        )
    return True


def load_model(spec: ModelSpec) -> Any:
    """The Ultralytics `YOLO` object for `spec`; ModelLoadError (naming the file) if it cannot be loaded."""
    require_ultralytics()
    from ultralytics import YOLO
    from ultralytics.utils.checks import check_yolov5u_filename

    if not spec.packaged:
        if not Path(spec.source).is_file():
            # Checked first: Ultralytics would try to download a missing file that has an official name.
            raise ModelLoadError(
                f"model file {spec.name!r} is no longer in the models folder", field=FIELD, file=spec.name
            )
        if check_yolov5u_filename(spec.source, verbose=False) != spec.source:
            # Ultralytics swaps legacy names (yolov5s.pt -> yolov5su.pt) and downloads the new one.
            raise ModelLoadError(
                f"model file {spec.name!r} has a legacy YOLOv5/YOLOv3 name that Ultralytics replaces by "
                "downloading another file; rename it",
                field=FIELD,
                file=spec.name,
            )
    try:
        model = YOLO(spec.source)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the same problem for the user
        raise ModelLoadError(
            f"model file {spec.name!r} cannot be loaded: {_summary(exc, spec)}", field=FIELD, file=spec.name
        ) from None
    if model.task not in DETECTION_TASKS:
        raise ModelLoadError(
            f"model {spec.name!r} is a {model.task} model; detection needs one of: "
            f"{', '.join(DETECTION_TASKS)}",
            field=FIELD,
            file=spec.name,
        )
    return model


def _summary(exc: Exception, spec: ModelSpec) -> str:
    """The first line of Ultralytics' message, without its decoration or the server's absolute path."""
    text = str(exc).replace(spec.source, spec.name).strip() or type(exc).__name__
    text = text.splitlines()[0].removeprefix("ERROR").strip(" ❌️:")
    return text if type(exc).__name__ in text else f"{text} ({type(exc).__name__})"


@dataclass(frozen=True)
class ModelInfo:
    """A model file of the models folder as the server would load it (`describe_model`)."""

    name: str  # relative POSIX path inside the folder, what `model` arguments take
    size_bytes: int
    added_at: float  # the file's modification time, seconds since the epoch
    architecture: str | None = None  # the Ultralytics architecture YAML it was built from (yolo11n.yaml)
    task: str | None = None  # detect, segment, pose...
    class_names: tuple[str, ...] | None = None  # by class index; None when it cannot be loaded
    problem: str | None = None  # why it cannot be loaded (ModelLoadError's message, or no Ultralytics)


# Loading a checkpoint costs a second and runs its pickled code: each file (by size and mtime) once.
_described: dict[tuple[str, int, int], ModelInfo] = {}


def describe_model(name: str, models_dir: Path) -> ModelInfo:
    """What loading the model file `name` gives: architecture, task, class names (or the problem).
    Blocking, and it runs the file's code (a .pt is a pickle): call it from a worker thread."""
    spec = resolve_model(name, models_dir)
    stat = Path(spec.source).stat()
    key = (spec.source, stat.st_size, stat.st_mtime_ns)
    if key in _described:
        return _described[key]
    try:
        model = load_model(spec)
    except (ModelLoadError, DetectorUnavailable) as exc:
        # Not kept: Ultralytics may be installed, or the file fixed, by the next look.
        return ModelInfo(spec.name, stat.st_size, stat.st_mtime, problem=exc.message)
    built_from = (getattr(model.model, "yaml", None) or {}).get("yaml_file")
    names = model.names
    info = ModelInfo(
        spec.name,
        stat.st_size,
        stat.st_mtime,
        architecture=PurePosixPath(str(built_from).replace("\\", "/")).name if built_from else None,
        task=model.task,
        class_names=tuple(str(names[i]) for i in sorted(names)),
    )
    _described[key] = info
    return info


def describe_models(models_dir: Path) -> list[ModelInfo]:
    """Every model file of the folder (list_models' order), described. Blocking: see describe_model."""
    found = []
    for name in list_models(models_dir):
        try:
            found.append(describe_model(name, models_dir))
        except (BadUserInput, OSError):
            continue  # removed or replaced by a folder meanwhile
    return found
