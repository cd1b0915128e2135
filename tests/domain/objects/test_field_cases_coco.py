"""The COCO field cases (tests/field_cases/annotations/, copied from the shared field cases): each is read as
an import reads it (image files by name only) and must give exactly these boxes, crowd marks, splits,
attributes and counts of what the boxes cannot carry."""

from __future__ import annotations

from pathlib import Path

from domain.objects.transfer.formats import coco, registry
from domain.objects.transfer.formats.model import BoxEntry, ExportFormat, ImageEntry, LabelEntry

CASES = Path(__file__).resolve().parents[2] / "field_cases" / "annotations"
SUFFIXES = (".jpg", ".jpeg", ".png")
FRAME_10 = "episode_000001_front_000010.jpg"
FRAME_11 = "episode_000001_front_000011.jpg"


def case_files(case: str) -> dict[str, bytes]:
    """The case's files as an upload gives them to a reader: images by name only (b"")."""
    root = CASES / case
    return {
        path.relative_to(root).as_posix(): b"" if path.suffix.lower() in SUFFIXES else path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def no_size(name: str) -> None:
    return None  # every case gives its images' sizes


def test_an_iscrowd_region_comes_in_as_a_crowd_box_from_its_bbox():
    """coco_rle_crowd: the RLE crowd region was an ordinary box (a miss in test sessions)."""
    files = case_files("coco_rle_crowd")
    assert registry.detect_format(files) == ExportFormat.COCO
    back = coco.read(files, no_size)
    assert back.images == [ImageEntry(FRAME_10, 1, "front", 10, 320, 240)]
    assert back.labels == [LabelEntry("pedestrian")]
    assert back.boxes == [
        BoxEntry(FRAME_10, "pedestrian", 50.0, 60.0, 20.0, 20.0, crowd=True),
        # Its polygon is its bbox's rectangle: nothing of it is lost.
        BoxEntry(FRAME_10, "pedestrian", 200.0, 100.0, 10.0, 10.0, crowd=False),
    ]
    assert back.dropped == {"masks": 1}  # the crowd's RLE outline: the box is its bbox


def test_cvat_coco_attributes_map_to_fields_and_rotation_is_counted():
    """cvat_coco: track_id, keyframe and occluded are the box's; a rotated box and its custom attribute
    were dropped without a word. The file is CVAT's annotations/instances_default.json: split default."""
    files = case_files("cvat_coco")
    assert registry.detect_format(files) == ExportFormat.COCO
    back = coco.read(files, no_size)
    assert back.labels == [LabelEntry("pedestrian"), LabelEntry("cyclist")]
    assert back.images == [
        ImageEntry(FRAME_10, 1, "front", 10, 320, 240),
        ImageEntry(FRAME_11, 1, "front", 11, 320, 240),
    ]
    assert back.boxes == [
        BoxEntry(FRAME_10, "pedestrian", 10.0, 20.0, 20.0, 30.0, "0", keyframe=True, split="default"),
        BoxEntry(
            FRAME_11,
            "pedestrian",
            12.0,
            20.0,
            20.0,
            30.0,
            "0",
            occluded=True,
            keyframe=False,
            split="default",
        ),
        BoxEntry(FRAME_10, "cyclist", 100.5, 50.25, 40.0, 40.5, attributes={"age": "adult"}, split="default"),
    ]
    assert back.dropped == {"rotation": 1}  # 15 degrees; the box is read as its unrotated bbox


def test_roboflow_coco_reads_every_split_in_one_go():
    """roboflow_coco: one _annotations.coco.json per split folder, image ids starting at 0 in each; was
    refused as several COCO files."""
    files = case_files("roboflow_coco")
    assert registry.detect_format(files) == ExportFormat.COCO
    assert coco.find_all(files) == [
        ("train/_annotations.coco.json", "train"),
        ("valid/_annotations.coco.json", "valid"),
    ]
    back = coco.read(files, no_size)
    # Roboflow's first category is its workspace ("people", supercategory "none"), the others' parent.
    assert back.labels == [
        LabelEntry("people"),
        LabelEntry("cyclist", parent="people"),
        LabelEntry("pedestrian", parent="people"),
    ]
    assert back.images == [
        ImageEntry(FRAME_10, 1, "front", 10, 320, 240),
        ImageEntry(FRAME_11, 1, "front", 11, 320, 240),
    ]
    assert back.boxes == [
        BoxEntry(FRAME_10, "pedestrian", 10.0, 20.0, 20.0, 30.0, split="train"),
        BoxEntry(FRAME_11, "pedestrian", 10.0, 20.0, 20.0, 30.0, split="valid"),
    ]
    assert back.dropped == {}


def test_label_studio_result_json_reads_with_names_as_the_file_has_them():
    """labelstudio_coco_prefixed: result.json, images under images/ with the upload prefix (the import's
    name mapping strips it), float noise in the bboxes."""
    files = case_files("labelstudio_coco_prefixed")
    assert registry.detect_format(files) == ExportFormat.COCO
    back = coco.read(files, no_size)
    name = "images/1a2b3c4d-" + FRAME_10
    assert back.images == [ImageEntry(name, -1, "", -1, 320, 240)]
    assert back.labels == [LabelEntry("cyclist"), LabelEntry("pedestrian")]
    assert back.boxes == [
        BoxEntry(name, "pedestrian", 10.000000000000002, 20.0, 19.999999999999996, 30.000000000000004),
        BoxEntry(name, "cyclist", 100.0, 50.0, 40.0, 40.0),
    ]
    assert back.dropped == {}
