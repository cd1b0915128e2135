"""Which detection models the server may load, and loading them (offline, no database)."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import pytest

from domain.core.errors import BadUserInput
from domain.detection import (
    INSTALL_HINT,
    DetectorUnavailable,
    ModelLoadError,
    ModelSpec,
    clear_model_cache,
    load_model,
    require_ultralytics,
    resolve_model,
    ultralytics_available,
)


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    clear_model_cache()
    yield
    clear_model_cache()


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    (folder / "team").mkdir(parents=True)
    (folder / "team" / "best.pt").write_bytes(b"weights")
    (folder / "custom.yaml").write_text("nc: 2\n")
    (folder / "notes.txt").write_text("not a model")
    (tmp_path / "outside.pt").write_bytes(b"weights")
    return folder


# --- resolving a model name -------------------------------------------------------------------------------


def test_a_file_inside_the_folder_resolves_to_its_path(models_dir: Path):
    spec = resolve_model("team/best.pt", models_dir)
    assert spec == ModelSpec(
        name="team/best.pt",
        source=str((models_dir / "team" / "best.pt").resolve()),
        packaged=False,
        stamp=spec.stamp,
    )
    assert spec.stamp[0] == len(b"weights") and not spec.untrained
    assert resolve_model("custom.yaml", models_dir).untrained


def test_a_replaced_file_is_a_new_spec(models_dir: Path):
    before = resolve_model("team/best.pt", models_dir)
    (models_dir / "team" / "best.pt").write_bytes(b"other weights")
    assert resolve_model("team/best.pt", models_dir) != before


@pytest.mark.parametrize("name", ["../outside.pt", "team/../../outside.pt", "team/../custom.yaml"])
def test_dot_dot_is_refused(models_dir: Path, name: str):
    with pytest.raises(BadUserInput, match=r"must not contain '\.\.'") as error:
        resolve_model(name, models_dir)
    assert error.value.field == "model"


def test_absolute_paths_and_urls_are_refused_even_inside_the_folder(models_dir: Path):
    for name in [str(models_dir / "custom.yaml"), "https://example.com/yolo11n.pt", "C:\\models\\a.pt"]:
        with pytest.raises(BadUserInput, match="not an absolute path or URL") as error:
            resolve_model(name, models_dir)
        assert error.value.field == "model"


def test_symlinks_leading_outside_are_refused(models_dir: Path, tmp_path: Path):
    (models_dir / "link.pt").symlink_to(tmp_path / "outside.pt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.pt").write_bytes(b"weights")
    (models_dir / "shared").symlink_to(elsewhere, target_is_directory=True)
    for name in ["link.pt", "shared/x.pt"]:
        with pytest.raises(BadUserInput, match="resolves outside the models folder"):
            resolve_model(name, models_dir)
    # A link that stays inside the folder is fine.
    (models_dir / "alias.pt").symlink_to(models_dir / "team" / "best.pt")
    assert resolve_model("alias.pt", models_dir).source == str((models_dir / "team" / "best.pt").resolve())


def test_other_files_and_folders_are_refused(models_dir: Path):
    with pytest.raises(BadUserInput, match="must be a .pt checkpoint or a .yaml architecture"):
        resolve_model("notes.txt", models_dir)
    with pytest.raises(BadUserInput, match="is a folder"):
        resolve_model("team", models_dir)
    with pytest.raises(BadUserInput, match="must not be empty"):
        resolve_model("  ", models_dir)


@pytest.mark.parametrize("name", ["yolo11n.yaml", "yolov8s.yaml"])
def test_a_shipped_architecture_resolves_without_a_file(models_dir: Path, name: str):
    spec = resolve_model(name, models_dir)
    assert spec == ModelSpec(name=name, source=name, packaged=True)
    assert spec.untrained
    assert not (models_dir / name).exists() and not Path(name).exists()


def test_a_file_in_the_folder_wins_over_a_shipped_architecture(models_dir: Path):
    (models_dir / "yolo11n.yaml").write_text("nc: 1\n")
    assert not resolve_model("yolo11n.yaml", models_dir).packaged


def test_shipped_non_detection_architectures_are_refused(models_dir: Path):
    with pytest.raises(BadUserInput, match="is a classify architecture"):
        resolve_model("yolo11n-cls.yaml", models_dir)
    with pytest.raises(BadUserInput, match="open-vocabulary"):
        resolve_model("yolov8s-world.yaml", models_dir)


def test_an_unknown_name_lists_what_the_folder_holds(models_dir: Path):
    # An official weights name that is not in the folder is not downloaded.
    with pytest.raises(BadUserInput) as error:
        resolve_model("yolo11n.pt", models_dir)
    message = error.value.message
    assert "unknown model 'yolo11n.pt'" in message
    assert "The models folder holds: custom.yaml, team/best.pt" in message
    assert error.value.field == "model"
    assert error.value.details["available"] == ["custom.yaml", "team/best.pt"]
    assert not (models_dir / "yolo11n.pt").exists() and not Path("yolo11n.pt").exists()
    with pytest.raises(BadUserInput, match="holds: nothing"):
        resolve_model("yolo11q.yaml", models_dir / "missing")
    with pytest.raises(BadUserInput) as error:
        resolve_model("../outside.pt", models_dir, field="detector.model")
    assert error.value.field == "detector.model"


# --- loading -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", ["yolo11n.pt", "broken.pt"])
def test_a_corrupt_checkpoint_is_a_model_load_error_naming_the_file(models_dir: Path, file_name: str):
    # `yolo11n.pt` is an official name: Ultralytics must neither replace nor re-download it.
    corrupt = b"this is not a checkpoint" * 10
    (models_dir / file_name).write_bytes(corrupt)
    spec = resolve_model(file_name, models_dir)
    with pytest.raises(ModelLoadError) as error:
        load_model(spec)
    assert error.value.message.startswith(f"model file '{file_name}' cannot be loaded:")
    assert str(models_dir) not in error.value.message
    assert error.value.field == "model" and error.value.details == {"file": file_name}
    assert error.value.code == "BAD_USER_INPUT"
    assert (models_dir / file_name).read_bytes() == corrupt


def test_a_file_removed_after_resolving_is_not_fetched(models_dir: Path):
    (models_dir / "yolo11n.pt").write_bytes(b"x")
    spec = resolve_model("yolo11n.pt", models_dir)
    (models_dir / "yolo11n.pt").unlink()
    with pytest.raises(ModelLoadError, match="no longer in the models folder"):
        load_model(spec)
    assert not (models_dir / "yolo11n.pt").exists()


def test_errors_keep_their_field_and_details_through_pickle():
    error = pickle.loads(pickle.dumps(ModelLoadError("bad", field="model", file="a.pt")))
    assert (type(error), error.message, error.field, error.details) == (
        ModelLoadError,
        "bad",
        "model",
        {"file": "a.pt"},
    )


@pytest.mark.parametrize("module", ["ultralytics", "torch"])
def test_without_ultralytics_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, models_dir: Path, module: str
):
    monkeypatch.setitem(sys.modules, module, None)  # `import <module>` now raises ImportError
    assert not ultralytics_available()
    with pytest.raises(DetectorUnavailable) as error:
        require_ultralytics()
    assert (
        error.value.message
        == INSTALL_HINT
        == ("object detection needs Ultralytics and PyTorch: pip install 'annograph[detect]'")
    )
    assert error.value.details == {"missing": module}
    with pytest.raises(DetectorUnavailable, match="pip install"):
        load_model(ModelSpec(name="yolo11n.yaml", source="yolo11n.yaml", packaged=True))
    with pytest.raises(DetectorUnavailable, match="pip install"):
        resolve_model("yolo11n.yaml", models_dir)
    # Files in the folder still resolve: that needs no Ultralytics.
    assert resolve_model("team/best.pt", models_dir).name == "team/best.pt"


def test_ultralytics_is_available_and_offline():
    assert ultralytics_available()
    assert os.environ["YOLO_OFFLINE"] == "1"
    from ultralytics.utils import is_online

    assert not is_online()
