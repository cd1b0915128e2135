"""A detector that is sure of itself, built offline: an untrained yolo11n whose class biases make it
report 'person' (stride-8 level) and 'car' (stride-16 level) everywhere; saved once per test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

IMGSZ = 64


def build_confident_checkpoint(path: Path) -> Path:
    """Save the confident detector at `path` (also used by bench.detection)."""
    from domain.detection import require_ultralytics

    require_ultralytics()
    from ultralytics import YOLO

    yolo = YOLO("yolo11n.yaml")
    head = yolo.model.model[-1]
    for level, seq in enumerate(head.cv3):
        bias = seq[-1].bias.data
        bias[:] = -20.0
        if level < 2:
            bias[level] = 4.0
    yolo.model.names = {0: "person", 1: "car", **{i: f"class{i}" for i in range(2, 80)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    yolo.save(path)
    return path


@pytest.fixture(scope="session")
def confident_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_confident_checkpoint(tmp_path_factory.mktemp("checkpoint") / "confident.pt")


@pytest.fixture
def models(runtime, confident_checkpoint) -> Path:
    """The runtime's models folder, holding confident.pt."""
    folder = runtime.settings.models_dir
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(confident_checkpoint, folder / "confident.pt")
    return folder
