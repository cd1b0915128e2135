"""The YOLO and Pascal VOC field cases (tests/field_cases/annotations/, copied from the shared field cases):
each is read as an import reads it (image files by name only) and must give exactly these boxes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from domain.objects.transfer.formats import registry, voc, yolo
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
)

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


# --- Pascal VOC -------------------------------------------------------------------------------------------


def export_corners(data: AnnotationSet, options: TransferOptions = TransferOptions()) -> list[list[float]]:
    """[xmin, ymin, xmax, ymax] of every object our VOC export of `data` writes."""
    files: dict[str, bytes] = {}
    voc.write(data, files.__setitem__, options)
    return [
        [float(thing.findtext(f"bndbox/{k}") or "nan") for k in ("xmin", "ymin", "xmax", "ymax")]
        for name, content in files.items()
        if name.endswith(".xml")
        for thing in ET.fromstring(content).findall("object")
    ]


def test_cvat_voc_reads_its_corners_colours_and_track():
    """CVAT's PASCAL VOC 1.1: float corners (xmin = x), labelmap.txt with colours, track_id, keyframe and
    rotation 0 as attributes."""
    files = case_files("cvat_voc")
    assert registry.detect_format(files) == ExportFormat.VOC
    back = voc.read(files, size_of)
    name = "episode_000001_front_000010.jpg"
    assert back.labels == [LabelEntry("pedestrian", "#fa3253"), LabelEntry("cyclist", "#33ddff")]
    assert back.images == [ImageEntry(name, 1, "front", 10, 320, 240)]
    assert back.boxes == [
        BoxEntry(name, "pedestrian", 10.0, 20.0, 20.0, 30.0, track_id="3", keyframe=True, split="default")
    ]
    assert back.dropped == {}  # rotation 0: nothing lost
    assert export_corners(back) == [[10.0, 20.0, 30.0, 50.0]]  # written back as CVAT wrote it


def test_voc_float_corners_without_size():
    """No <size>: the image's size comes from the dataset; corners with fractions keep them."""
    files = case_files("voc_float_nosize")
    assert registry.detect_format(files) == ExportFormat.VOC
    back = voc.read(files, size_of)
    name = "episode_000001_front_000010.jpg"
    assert back.images == [ImageEntry(name, 1, "front", 10, 320, 240)]
    assert back.boxes == [
        BoxEntry(name, "pedestrian", 10.5, 20.25, 20.25, 30.25),
        BoxEntry(name, "cyclist", 0.0, 0.0, 320.0, 240.0, truncated=True),
    ]
    with pytest.raises(FormatError) as caught:
        voc.read(files, lambda name: None)
    assert caught.value.where == "annotation/size" and "image size is missing" in caught.value.reason
    assert all(c[0] < c[2] and c[1] < c[3] for c in export_corners(back))


def test_voc_width1_our_old_export_and_datumaros_reading_of_it_agree_now():
    """Our old export wrote a 1 px wide box (x 167, y 100, 1 x 3) with the devkit's corners, xmin = xmax = 168;
    datumaro read that as [168, 101, 0, 2], a box of no width. Read by default we now read the corners as
    datumaro does (and refuse the empty box, naming the devkit option); the devkit option reads what the
    export meant; our export of that box now is what datumaro reads back as the same box."""
    files = case_files("voc_width1/annograph_export")
    coco = json.loads((CASES / "voc_width1/datumaro_coco/annotations/instances_default.json").read_bytes())
    (datumaro,) = [a["bbox"] for a in coco["annotations"]]
    assert datumaro == [168.0, 101.0, 0.0, 2.0]
    xml = ET.fromstring(files["Annotations/episode_000000_side_000008.xml"])
    xmin, ymin, xmax, ymax = (
        float(xml.findtext(f"object/bndbox/{k}") or "nan") for k in ("xmin", "ymin", "xmax", "ymax")
    )
    assert [xmin, ymin, xmax - xmin, ymax - ymin] == datumaro  # the default reading is datumaro's

    with pytest.raises(FormatError) as caught:
        voc.read(files, size_of)
    assert caught.value.file == "Annotations/episode_000000_side_000008.xml"
    assert (
        caught.value.reason.startswith("xmax equals xmin (168)")
        and "1-based VOC option" in caught.value.reason
    )

    meant = voc.read(files, size_of, TransferOptions(voc_one_based=True))
    name = "episode_000000_side_000008.jpg"
    assert meant.labels == [LabelEntry("pedestrian"), LabelEntry("cyclist")]
    assert meant.boxes == [BoxEntry(name, "cyclist", 167.0, 100.0, 1.0, 3.0, split="default")]

    (corners,) = export_corners(meant)
    assert corners == [167.0, 100.0, 168.0, 103.0] and corners[0] != corners[2]
    assert [corners[0], corners[1], corners[2] - corners[0], corners[3] - corners[1]] == [
        167.0,
        100.0,
        1.0,
        3.0,
    ]
    assert export_corners(meant, TransferOptions(voc_one_based=True)) == [
        [168.0, 101.0, 168.0, 103.0]
    ]  # devkit


@pytest.mark.parametrize(
    "case", ["cvat_voc", "voc_float_nosize", "cvat_yolo11", "labelstudio_yolo", "yolo_roboflow_renamed"]
)
def test_no_export_of_a_field_case_writes_a_box_without_width(case):
    files = case_files(case)
    data = registry.reader(registry.detect_format(files) or ExportFormat.VOC).read(files, size_of)
    assert data.boxes
    for c in export_corners(data):
        assert c[0] < c[2] and c[1] < c[3], (case, c)
