"""The YOLO and Pascal VOC field cases (tests/field_cases/annotations/, copied from the shared field cases):
each is read as an import reads it (image files by name only) and must give exactly these boxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.objects.transfer.formats import registry, yolo
from domain.objects.transfer.formats.model import BoxEntry, ExportFormat, ImageEntry, LabelEntry

CASES = Path(__file__).resolve().parents[2] / "field_cases" / "annotations"
SUFFIXES = (".jpg", ".jpeg", ".png")
ROBOFLOW = "_jpg.rf.0123456789abcdef0123456789abcdef.jpg"


def case_files(case: str) -> dict[str, bytes]:
    """The case's files as an upload gives them to a reader: images by name only (b"")."""
    root = CASES / case
    return {
        path.relative_to(root).as_posix(): b"" if path.suffix.lower() in SUFFIXES else path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def size_of(name: str) -> tuple[int, int] | None:
    """The field cases' frames are 320 x 240 (their JPEGs are), whatever decoration the name has."""
    return (320, 240) if name.startswith("episode_") else None


def test_cvat_yolo_1_1_comes_in_whole():
    """obj.names, obj.data, obj_train_data/<image>.txt, train.txt: was 0 boxes and success."""
    files = case_files("cvat_yolo11")
    assert registry.detect_format(files) == ExportFormat.YOLO
    back = yolo.read(files, size_of)
    name = "episode_000001_front_000010.jpg"
    assert back.labels == [LabelEntry("pedestrian"), LabelEntry("cyclist")]
    assert back.images == [ImageEntry(name, 1, "front", 10, 320, 240)]
    assert back.boxes == [BoxEntry(name, "pedestrian", 10.0, 20.0, 20.0, 30.0, split="train")]
    assert back.dropped == {}


def test_label_studio_yolo_is_yolo_not_coco():
    """classes.txt, notes.json (categories, like COCO's), images/, labels/."""
    files = case_files("labelstudio_yolo")
    assert registry.detect_format(files) == ExportFormat.YOLO
    back = yolo.read(files, size_of)
    name = "episode_000001_front_000010.jpg"
    assert back.labels == [LabelEntry("cyclist"), LabelEntry("pedestrian")]
    assert back.images == [ImageEntry(name, 1, "front", 10, 320, 240)]
    assert back.boxes == [
        BoxEntry(name, "pedestrian", 10.0, 20.0, 20.0, 30.0),
        BoxEntry(name, "cyclist", 100.0, 50.0, 40.0, 40.0),
    ]


def test_roboflow_yolo_keeps_its_names_and_splits():
    """train|valid|test/images|labels with renamed files: each label file pairs with the image of its own
    folder, the name stays as the archive has it (the import's name mapping strips `_jpg.rf.<hash>`), and
    each box carries its folder's split."""
    files = case_files("yolo_roboflow_renamed")
    assert registry.detect_format(files) == ExportFormat.YOLO
    back = yolo.read(files, size_of)
    front10, front11, side5 = (
        f"episode_000001_front_000010{ROBOFLOW}",
        f"episode_000001_front_000011{ROBOFLOW}",
        f"episode_000003_side_000005{ROBOFLOW}",
    )
    assert back.labels == [LabelEntry("pedestrian"), LabelEntry("cyclist")]
    assert sorted(m.file_name for m in back.images) == [front10, front11, side5]  # the test image: no boxes
    assert back.boxes == [
        BoxEntry(front10, "pedestrian", 10.0, 20.0, 20.0, 30.0, split="train"),
        BoxEntry(front10, "cyclist", 100.0, 50.0, 40.0, 40.0, split="train"),
        BoxEntry(front11, "cyclist", 144.0, 108.0, 32.0, 24.0, split="valid"),
    ]


@pytest.mark.parametrize("case", ["labelstudio_yolo", "yolo_roboflow_renamed"])
def test_label_files_pair_with_the_images_ultralytics_pairs_them_with(case, monkeypatch, tmp_path):
    """Ultralytics finds an image's label file by reading its last images/ folder as labels/: every image
    of the case has the label file we read for it."""
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path))
    from ultralytics.data.utils import img2label_paths

    files = case_files(case)
    images = [p for p in files if p.endswith(SUFFIXES)]
    # Under a root folder, as Ultralytics sees them on disk (it looks for "/images/").
    pairs = {
        p: label[1:] for p, label in zip(images, img2label_paths([f"/{p}" for p in images]), strict=True)
    }
    assert all(label in files for label in pairs.values()), pairs
    back = yolo.read(
        {**{p: c for p, c in files.items() if not p.endswith(SUFFIXES)}, **dict.fromkeys(images, b"")},
        size_of,
    )
    read = {m.file_name for m in back.images}
    assert read == {p.rsplit("/", 1)[-1] for p in images}
    for image_path, label_path in pairs.items():
        rows = files[label_path].decode().split()
        name = image_path.rsplit("/", 1)[-1]
        assert len([b for b in back.boxes if b.file_name == name]) * 5 == len(rows), (image_path, label_path)
