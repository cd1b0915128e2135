"""COCO as datumaro and CVAT lay it out (issue 17): a file per subset, iscrowd, CVAT-style attributes, what a
box cannot carry counted on import, several files in one upload; annograph JSON's crowd, attributes, split."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from domain.objects.transfer.formats import annograph_json, coco, registry
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    FormatError,
    ImageEntry,
    LabelEntry,
    image_file_name,
)
from tests.domain.objects.format_samples import export, write_tree


def frame(index: int, camera: str = "front") -> ImageEntry:
    return ImageEntry(image_file_name(1, camera, index), 1, camera, index, 320, 240)


def split_set() -> AnnotationSet:
    """Frames 0-3: boxes in train (a crowd among them), valid and none; frame 1 in train and valid both;
    frame 3 has no box (a background image)."""
    f0, f1, f2, f3 = frame(0), frame(1), frame(2), frame(3)
    boxes = [
        BoxEntry(
            f0.file_name,
            "person",
            1.0,
            2.0,
            30.0,
            40.0,
            "7",
            split="train",
            attributes={"age": "adult", "parked": False, "seats": 2, "speed": 1.5},
        ),
        BoxEntry(f0.file_name, "person", 100.0, 100.0, 80.0, 60.0, "crowd-1", crowd=True, split="train"),
        BoxEntry(f1.file_name, "cone", 5.0, 5.0, 10.0, 10.0, "007", split="train", occluded=True),
        BoxEntry(f1.file_name, "cone", 50.0, 5.0, 10.0, 10.0, "t2", split="valid", keyframe=False),
        BoxEntry(f2.file_name, "cone", 5.0, 50.0, 10.0, 10.0, "t3"),
    ]
    return AnnotationSet([LabelEntry("person"), LabelEntry("cone")], [f0, f1, f2, f3], boxes)


def test_coco_writes_a_file_per_subset_as_datumaro_and_cvat_read_it():
    data = split_set()
    files, lost = export(ExportFormat.COCO, data)
    assert sorted(files) == [
        "annotations/instances_default.json",
        "annotations/instances_train.json",
        "annotations/instances_valid.json",
    ]
    assert lost == []  # crowd, attributes and split all travel
    train = json.loads(files["annotations/instances_train.json"])
    assert [m["file_name"] for m in train["images"]] == [frame(0).file_name, frame(1).file_name]
    first, crowd, third = train["annotations"]
    assert first["iscrowd"] == 0 and crowd["iscrowd"] == 1 and third["iscrowd"] == 0
    # CVAT's keys (a numeric track id as a number), ours, then the custom attributes.
    assert first["attributes"] == {
        "age": "adult",
        "parked": False,
        "seats": 2,
        "speed": 1.5,
        "occluded": False,
        "keyframe": True,
        "truncated": False,
        "difficult": False,
        "outside": False,
        "source": "IMPORTED",
        "track_id": 7,
    }
    assert third["attributes"]["track_id"] == "007" and third["attributes"]["occluded"] is True
    assert [a["image_id"] for a in train["annotations"]] == [1, 1, 2]
    valid = json.loads(files["annotations/instances_valid.json"])
    assert [m["file_name"] for m in valid["images"]] == [frame(1).file_name]
    assert [a["bbox"] for a in valid["annotations"]] == [[50.0, 5.0, 10.0, 10.0]]
    default = json.loads(files["annotations/instances_default.json"])
    # A box without a split, and the frame without boxes (listed, with no annotations).
    assert [m["file_name"] for m in default["images"]] == [frame(2).file_name, frame(3).file_name]
    assert [a["image_id"] for a in default["annotations"]] == [1]
    assert [(image.file_name, path) for image, path in coco.image_paths(data)] == [
        (frame(2).file_name, f"images/default/{frame(2).file_name}"),
        (frame(3).file_name, f"images/default/{frame(3).file_name}"),
        (frame(0).file_name, f"images/train/{frame(0).file_name}"),
        (frame(1).file_name, f"images/train/{frame(1).file_name}"),
        (frame(1).file_name, f"images/valid/{frame(1).file_name}"),
    ]


def test_coco_reads_its_own_subsets_back_with_crowd_attributes_and_split():
    data = split_set()
    files, _ = export(ExportFormat.COCO, data)
    back = coco.read(files, lambda name: None)
    assert back.dropped == {}
    assert sorted(back.images, key=lambda m: m.frame) == data.images  # frame 1 once, though in two files
    want = [replace(b, split=b.split or "default") for b in data.boxes]

    def key(b: BoxEntry) -> tuple:
        return b.split, b.file_name, b.x

    assert sorted(back.boxes, key=key) == sorted(want, key=key)


def test_pycocotools_scores_a_crowd_region_as_cocoeval_does(tmp_path):
    """A detection inside a crowd region is neither TP nor FP in COCOeval: AP stays 1."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    data = split_set()
    files, _ = export(ExportFormat.COCO, data)
    write_tree(tmp_path, files)
    truth = COCO(str(tmp_path / "annotations" / "instances_train.json"))
    crowds = [a for a in truth.dataset["annotations"] if a["iscrowd"]]
    assert len(crowds) == 1
    results = [
        dict(image_id=a["image_id"], category_id=a["category_id"], bbox=a["bbox"], score=0.9)
        for a in truth.dataset["annotations"]
        if not a["iscrowd"]
    ]
    results.append(
        dict(
            image_id=crowds[0]["image_id"],
            category_id=crowds[0]["category_id"],
            bbox=[110.0, 110.0, 20.0, 20.0],
            score=0.95,
        )
    )  # inside the crowd
    evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
    evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    assert evaluation.stats[1] == pytest.approx(1.0)  # AP50


def coco_file(annotations: list[dict], images: list[dict] | None = None) -> bytes:
    return json.dumps(
        {
            "images": images or [{"id": 1, "file_name": frame(0).file_name, "width": 320, "height": 240}],
            "categories": [{"id": 1, "name": "person"}],
            "annotations": annotations,
        }
    ).encode()


def box(bbox: list[float], **extra) -> dict:
    return {"id": 1, "image_id": 1, "category_id": 1, "bbox": bbox, "area": bbox[2] * bbox[3], **extra}


def test_what_a_box_cannot_carry_is_counted_per_kind():
    rectangle = [[10, 10, 40, 10, 40, 30, 10, 30]]
    annotations = [
        box([10, 10, 30, 20], segmentation=rectangle),  # its bbox: nothing lost
        box([10, 10, 30, 20], segmentation=[[10, 10, 40, 10, 40, 30, 10, 30, 10, 10]]),  # closed: the same
        box([10, 10, 30, 20], segmentation=[[10, 10, 40, 10, 25, 30]]),  # a triangle: a polygon lost
        box(
            [10, 10, 30, 20], segmentation=[[10, 10, 40, 10, 40, 30, 10, 30], [1, 1, 2, 1, 2, 2]]
        ),  # two parts
        box([10, 10, 30, 20], segmentation=[[10, 10, 40, 10, 25, 30]], iscrowd=1),  # a crowd's outline
        box([10, 10, 30, 20], segmentation={"size": [240, 320], "counts": "abc"}),  # an RLE mask
        box([10, 10, 30, 20], keypoints=[12, 12, 2, 0, 0, 0], num_keypoints=1),  # one visible keypoint
        box([10, 10, 30, 20], keypoints=[0, 0, 0, 0, 0, 0], num_keypoints=0),  # none visible
        box([10, 10, 30, 20], attributes={"rotation": 360.0, "colour": ["red"], "note": None, "kind": "van"}),
        box([10, 10, 30, 20], attributes={"rotation": -90}),
    ]
    back = coco.read({"annotations.json": coco_file(annotations)}, lambda name: None)
    assert back.dropped == {"polygons": 2, "masks": 1, "keypoints": 1, "custom attributes": 2, "rotation": 1}
    assert [b.crowd for b in back.boxes] == [False] * 4 + [True] + [False] * 5
    assert [b.attributes for b in back.boxes][8:] == [{"kind": "van"}, {}]
    assert {b.split for b in back.boxes} == {None}  # one annotations.json: no split


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        ({"iscrowd": 2}, "annotations[0].iscrowd", "iscrowd must be 0 or 1, got 2"),
        ({"iscrowd": "1"}, "annotations[0].iscrowd", "iscrowd must be 0 or 1"),
        (
            {"attributes": {"rotation": "15"}},
            "annotations[0].attributes.rotation",
            "rotation must be a number",
        ),
        (
            {"segmentation": "polygon"},
            "annotations[0].segmentation",
            "segmentation must be a list of polygons",
        ),
        ({"keypoints": [1, "a", 2]}, "annotations[0].keypoints", "keypoints must be a list of numbers"),
    ],
)
def test_a_wrong_crowd_mark_or_shape_is_named(change, where, reason):
    with pytest.raises(FormatError) as caught:
        coco.read({"x.json": coco_file([box([10, 10, 30, 20], **change)])}, lambda name: None)
    assert caught.value.where == where and reason in caught.value.reason, caught.value


def test_datumaro_subsets_read_in_one_go_with_ids_scoped_per_file():
    one = coco_file([box([1, 2, 3, 4])])
    other = coco_file(
        [box([5, 6, 7, 8])], [{"id": 1, "file_name": frame(1).file_name, "width": 320, "height": 240}]
    )
    files = {
        "export/annotations/instances_train.json": one,
        "export/annotations/instances_val.json": other,
        "export/images/train/" + frame(0).file_name: b"",
    }
    assert registry.detect_format(files) == ExportFormat.COCO
    back = coco.read(files, lambda name: None)
    assert [(b.file_name, b.x, b.split) for b in back.boxes] == [
        (frame(0).file_name, 1.0, "train"),
        (frame(1).file_name, 5.0, "val"),
    ]
    assert back.labels == [LabelEntry("person")]


def test_several_files_that_disagree_are_refused_naming_them():
    one = coco_file([box([1, 2, 3, 4])])
    with pytest.raises(FormatError, match="two COCO files for split 'train'"):
        coco.read(
            {"a/train/_annotations.coco.json": one, "b/train/_annotations.coco.json": one}, lambda n: None
        )
    smaller = coco_file(
        [box([1, 2, 3, 4])], [{"id": 1, "file_name": frame(0).file_name, "width": 32, "height": 24}]
    )
    with pytest.raises(FormatError) as caught:
        coco.read(
            {"train/_annotations.coco.json": one, "valid/_annotations.coco.json": smaller}, lambda n: None
        )
    assert caught.value.file == "valid/_annotations.coco.json" and caught.value.where == "images[0]"
    assert "is 32x24 here, 320x240 in train/_annotations.coco.json" in caught.value.reason


def test_images_in_folders_per_camera_keep_their_folders():
    """own_names_camera_folders: front/000010.jpg and side/000010.jpg are two images (the import's name
    mapping reads the camera off the folder), not one image twice."""
    images = [
        {"id": 1, "file_name": "front/000010.jpg", "width": 320, "height": 240},
        {"id": 2, "file_name": "side\\000010.jpg", "width": 320, "height": 240},
    ]
    back = coco.read({"annotations.json": coco_file([box([1, 2, 3, 4])], images)}, lambda name: None)
    assert [m.file_name for m in back.images] == ["front/000010.jpg", "side/000010.jpg"]


def test_subset_names_are_safe_file_names():
    assert [coco.subset_name(s) for s in (None, "", "train", "my split/2", "..", "val-1.b")] == [
        "default",
        "default",
        "train",
        "my_split_2",
        "default",
        "val-1.b",
    ]


def test_a_format_without_crowd_marks_or_attributes_says_so():
    lost = export(ExportFormat.YOLO, split_set())[1]
    assert "crowd marks (COCO's iscrowd: written as ordinary boxes) of 1 box" in lost
    assert "custom attributes of 1 box" in lost


# --- annograph JSON ---------------------------------------------------------------------------------------


def test_annograph_json_round_trips_crowd_attributes_and_split():
    data = split_set()
    files, lost = export(ExportFormat.ANNOGRAPH, data)
    assert lost == []
    assert annograph_json.read(files, lambda name: None) == data
    document = json.loads(files["annograph.json"])
    assert document["boxes"][0]["attributes"] == {"age": "adult", "parked": False, "seats": 2, "speed": 1.5}
    assert document["boxes"][1]["crowd"] is True and document["boxes"][3]["split"] == "valid"


@pytest.mark.parametrize(("value", "shown"), [([1], "[1]"), ({"a": 1}, '{"a": 1}'), (None, "null")])
def test_annograph_json_refuses_an_attribute_that_is_not_plain(value, shown):
    files, _ = export(ExportFormat.ANNOGRAPH, split_set())
    document = json.loads(files["annograph.json"])
    document["boxes"][2]["attributes"] = {"ok": 1, "bad": value}
    with pytest.raises(FormatError) as caught:
        annograph_json.read({"annograph.json": json.dumps(document).encode()}, lambda name: None)
    assert caught.value.where == "boxes[2].attributes.bad"
    assert caught.value.reason == f"attribute 'bad' must be a string, a number or true/false, got {shown}"


def test_an_empty_export_still_has_its_default_file():
    files, _ = export(ExportFormat.COCO, AnnotationSet([LabelEntry("person")]))
    assert list(files) == ["annotations/instances_default.json"]
    document = json.loads(files["annotations/instances_default.json"])
    assert (document["images"], document["annotations"]) == ([], [])
    assert coco.read(files, lambda name: None) == AnnotationSet([LabelEntry("person")])
