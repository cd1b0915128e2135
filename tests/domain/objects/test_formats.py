"""COCO, YOLO, Pascal VOC and annograph JSON: written, read back, checked by the tools that define them."""

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
from tests.domain.objects.format_samples import (
    carried,
    export,
    sample,
    sizes,
    write_tree,
)

# --- annograph JSON ---------------------------------------------------------------------------------------

def test_annograph_json_round_trips_exactly_and_loses_nothing():
    data = sample()
    files, lost = export(ExportFormat.ANNOGRAPH, data)
    assert lost == [] and list(files) == ["annograph.json"]
    back = annograph_json.read(files, lambda name: None)
    assert back == data
    assert back.boxes[4].x == 0.1 + 0.2 and back.boxes[0].notes == data.boxes[0].notes
    assert back.episode_annotations[0]["content"]["note"] is None
    document = json.loads(files["annograph.json"])
    assert document["format"] == "annograph" and document["version"] == 1
    assert document["boxes"][0]["trackId"] == "t1" and document["boxes"][1]["keyframe"] is False


def test_annograph_json_names_the_json_path_of_a_wrong_value():
    files, _ = export(ExportFormat.ANNOGRAPH, sample())
    document = json.loads(files["annograph.json"])
    cases = [
        (("boxes", 3, "x"), "12", "boxes[3].x", "x must be a number"),
        (("boxes", 2, "occluded"), 1, "boxes[2].occluded", "occluded must be true or false"),
        (("boxes", 1, "trackID"), "t1", "boxes[1].trackID", "unknown key 'trackID'"),
        (("boxes", 0, "review"), "DONE", "boxes[0].review", "review must be one of PENDING"),
        (("boxes", 5, "fileName"), "nope.jpg", "boxes[5].fileName", "image 'nope.jpg' is not in images"),
        (("images", 1, "width"), None, "images[1].width", "width must be an integer, got null"),
        (("labels", 2, "color"), "red", "labels[2].color", "color must look like #rrggbb"),
        (("boxes", 6, "width"), 100.0, "boxes[6]", "outside the image (0..80)"),
    ]
    for (key, index, field), value, where, reason in cases:
        broken = json.loads(json.dumps(document))
        broken[key][index][field] = value
        with pytest.raises(FormatError) as caught:
            annograph_json.read({"annograph.json": json.dumps(broken).encode()}, lambda name: None)
        assert caught.value.file == "annograph.json" and caught.value.where == where, caught.value
        assert reason in caught.value.reason, caught.value


def test_a_json_syntax_error_gives_the_line():
    text = b'{"format": "annograph",\n "version": 1,\n "labels": [,]}'
    with pytest.raises(FormatError) as caught:
        annograph_json.read({"upload.json": text}, lambda name: None)
    assert caught.value.file == "upload.json" and caught.value.line == 3 and "not valid JSON" in caught.value.reason


# --- COCO -------------------------------------------------------------------------------------------------

COCO_FIELDS = ("track_id", "occluded", "truncated", "difficult", "outside", "source", "score", "keyframe")


def test_coco_round_trips_geometry_tracks_flags_and_sources_exactly():
    data = sample()
    files, lost = export(ExportFormat.COCO, data)
    assert list(files) == ["annotations/instances_default.json"]  # boxes without a split: datumaro's default
    assert lost == ["notes of 1 box", "review state of 3 boxes", "colours of 2 labels", "episode annotations (2)"]
    back = coco.read(files, lambda name: None)
    assert back.boxes == [replace(carried(b, *COCO_FIELDS), split="default") for b in data.boxes]
    assert back.images == data.images and back.dropped == {}
    assert back.labels == [LabelEntry("person"), LabelEntry("cyclist", parent="person"), LabelEntry("cone")]
    document = json.loads(files["annotations/instances_default.json"])
    assert document["categories"][1] == {"id": 2, "name": "cyclist", "supercategory": "person"}
    first = document["annotations"][0]
    assert first["bbox"] == [10.0, 5.0, 20.0, 30.0] and first["area"] == 600.0 and first["iscrowd"] == 0
    assert "score" not in first and document["annotations"][3]["score"] == 0.87
    assert first["attributes"] == {"occluded": False, "track_id": "t1", "keyframe": True, "truncated": False,
                                   "difficult": False, "outside": False, "source": "MANUAL"}
    assert b", " not in files["annotations/instances_default.json"]  # compact


def test_coco_is_evaluated_by_pycocotools_as_a_perfect_match_of_itself(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    data = sample()
    files, _ = export(ExportFormat.COCO, data)
    write_tree(tmp_path, files)
    truth = COCO(str(tmp_path / "annotations" / "instances_default.json"))
    ids = {m["file_name"]: m["id"] for m in truth.dataset["images"]}
    categories = {c["name"]: c["id"] for c in truth.dataset["categories"]}
    results = [{"image_id": ids[b.file_name], "category_id": categories[b.label],
                "bbox": [b.x, b.y, b.width, b.height], "score": 1.0} for b in data.boxes]

    def average_precision(detections: list[dict]) -> float:
        evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        return float(evaluation.stats[0])

    assert abs(average_precision(results) - 1.0) <= 1e-9
    moved = [dict(r, bbox=[r["bbox"][0] + r["bbox"][2], *r["bbox"][1:]]) if i == 0 else r
             for i, r in enumerate(results)]
    assert average_precision(moved) < 1.0


def test_coco_from_another_tool_reads_with_defaults():
    document = {
        "images": [{"id": 17, "file_name": "frames/" + image_file_name(2, "front", 4), "width": 64, "height": 48},
                   {"id": "b", "file_name": "other.png"}],
        "annotations": [
            {"id": 1, "image_id": 17, "category_id": 7, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0},
            {"id": 2, "image_id": "b", "category_id": 3, "bbox": [5.5, 6, 7, 8], "score": 0.25,
             "attributes": {"track_id": 4, "occluded": True, "custom": "ignored"}},
        ],
        "categories": [{"id": 7, "name": "vehicle car", "supercategory": "vehicle"}, {"id": 3, "name": "dog"}],
    }
    back = coco.read({"instances_val.json": json.dumps(document, indent=2).encode()},
                     {"other.png": (100, 50)}.get)
    assert back.labels == [LabelEntry("vehicle car"), LabelEntry("dog")]
    # Names as the file has them, folders included (the import's name mapping reads them).
    framed = "frames/" + image_file_name(2, "front", 4)
    assert back.images == [ImageEntry(framed, 2, "front", 4, 64, 48), ImageEntry("other.png", -1, "", -1, 100, 50)]
    assert back.boxes == [
        BoxEntry(framed, "vehicle car", 1.0, 2.0, 3.0, 4.0),
        BoxEntry("other.png", "dog", 5.5, 6.0, 7.0, 8.0, "4", occluded=True, score=0.25,
                 attributes={"custom": "ignored"}),
    ]


@pytest.mark.parametrize(("change", "where", "reason"), [
    (lambda d: d["annotations"][1].update(bbox=[1, 2, 3]), "annotations[1].bbox",
     "bbox must be 4 numbers [x, y, width, height], got 3"),
    (lambda d: d["annotations"][2].update(category_id=9), "annotations[2].category_id", "unknown category_id 9"),
    (lambda d: d["annotations"][3].update(image_id=99), "annotations[3].image_id", "unknown image_id 99"),
    (lambda d: d["annotations"][4]["bbox"].__setitem__(2, 0), "annotations[4].bbox",
     "width and height must be > 0"),
    (lambda d: d["annotations"][0]["bbox"].__setitem__(0, 50), "annotations[0].bbox",
     "the box spans x 50..70, outside the image (0..64)"),
    (lambda d: d["annotations"][5]["attributes"].update(source="ROBOT"), "annotations[5].attributes.source",
     "source must be one of MANUAL, MODEL, IMPORTED, INTERPOLATED"),
    (lambda d: d["annotations"][3].update(score=2), "annotations[3].score", "score must be a number between 0"),
    (lambda d: d["images"][2].update(width=-3), "images[2].width", "width must be a positive integer"),
    (lambda d: d["categories"].append({"id": 1, "name": "again"}), "categories[3].id", "category id 1 appears"),
])
def test_coco_names_the_first_bad_entry(change, where, reason):
    files, _ = export(ExportFormat.COCO, sample())
    document = json.loads(files["annotations/instances_default.json"])
    change(document)
    with pytest.raises(FormatError) as caught:
        coco.read({"export/annotations.json": json.dumps(document).encode()}, lambda name: None)
    assert caught.value.file == "export/annotations.json" and caught.value.where == where, caught.value
    assert reason in caught.value.reason, caught.value


def test_coco_write_and_read_of_100000_boxes_lose_nothing():
    images = [ImageEntry(image_file_name(e, "front", f), e, "front", f, 320, 240)
              for e in range(10) for f in range(1000)]
    boxes = [BoxEntry(m.file_name, ("a", "b")[k % 2], 10.5 + k, 20.25, 30.0, 40.0, f"t{k}", source="MODEL",
                      score=0.9) for m in images for k in range(10)]
    data = AnnotationSet([LabelEntry("a"), LabelEntry("b")], images, boxes)
    files, _ = export(ExportFormat.COCO, data)  # its speed is measured in bench/ground_truth.py
    back = coco.read(files, lambda name: None)
    assert back.boxes == [replace(b, split="default") for b in boxes]


# --- registry ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_every_format_is_detected_and_read_in_a_folder(fmt):
    data = sample()
    files, _ = export(fmt, data)
    module = registry.reader(fmt)
    assert registry.writer(fmt) is module and registry.image_dir(fmt) == module.IMAGE_DIR
    nested = {f"my export/{path}": content for path, content in files.items()}
    nested.update({f"my export/{module.IMAGE_DIR}/{m.file_name}": b"" for m in data.images})
    nested["__MACOSX/my export/._annotations.json"] = b"\x00\x05"
    assert registry.detect_format(files) == fmt and registry.detect_format(nested) == fmt
    assert module.read(nested, sizes(data).get) == module.read(files, sizes(data).get)


def test_detecting_single_files_and_unknown_uploads():
    coco_files, _ = export(ExportFormat.COCO, sample())
    graph_files, _ = export(ExportFormat.ANNOGRAPH, sample())
    assert registry.detect_format({"mine.json": coco_files["annotations/instances_default.json"]}) == ExportFormat.COCO
    assert registry.detect_format({"mine.json": graph_files["annograph.json"]}) == ExportFormat.ANNOGRAPH
    assert registry.detect_format({"x.xml": b"<annotation/>"}) == ExportFormat.VOC
    assert registry.detect_format({"notes.txt": b"hello", "a.json": b"[1, 2]"}) is None
    assert registry.detect_format({"a/annotations.json": b"{}", "b/annotations.json": b"{}"}) == ExportFormat.COCO


def test_writers_refuse_a_box_on_an_unlisted_image():
    data = sample()
    data.images = data.images[1:]
    for fmt in ExportFormat:
        if fmt != ExportFormat.ANNOGRAPH:
            with pytest.raises(ValueError, match="data.images lacks"):
                export(fmt, data)


def test_loss_counts_only_what_the_data_has():
    plain = AnnotationSet([LabelEntry("a")], [ImageEntry("x.jpg", -1, "", -1, 10, 10)],
                          [BoxEntry("x.jpg", "a", 1, 1, 2, 2)])
    assert all(export(fmt, plain)[1] == [] for fmt in ExportFormat)
