"""COCO, YOLO, Pascal VOC and annograph JSON: written, read back, checked by the tools that define them."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from domain.formats import annograph_json, coco, registry, voc, yolo
from domain.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    FormatError,
    ImageEntry,
    LabelEntry,
    image_file_name,
)
from tests.domain.format_samples import carried, jpeg, sample, sizes, write_tree


def export(fmt: ExportFormat, data: AnnotationSet) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    fidelity = registry.writer(fmt).write(data, files.__setitem__)
    assert fidelity.format == fmt
    return files, fidelity.lost


def round_trip(fmt: ExportFormat, data: AnnotationSet) -> AnnotationSet:
    files, _ = export(fmt, data)
    return registry.reader(fmt).read(files, sizes(data).get)


def by_image(boxes: list[BoxEntry]) -> dict[str, list[BoxEntry]]:
    grouped: dict[str, list[BoxEntry]] = {}
    for b in boxes:
        grouped.setdefault(b.file_name, []).append(b)
    return grouped


def assert_near(got: list[BoxEntry], want: list[BoxEntry], tolerance: float) -> None:
    """Same boxes per image, in order, geometry within `tolerance` pixels, every other field equal."""
    got_by, want_by = by_image(got), by_image(want)
    assert got_by.keys() == want_by.keys()
    for name, wanted in want_by.items():
        assert len(got_by[name]) == len(wanted), name
        for g, w in zip(got_by[name], wanted, strict=True):
            for key in ("x", "y", "width", "height"):
                assert abs(getattr(g, key) - getattr(w, key)) <= tolerance, (name, key, g, w)
            assert replace(g, x=w.x, y=w.y, width=w.width, height=w.height) == w


BOX_LOSSES = [
    "track ids of 5 boxes", "occluded flags of 2 boxes", "truncated flags of 1 box", "difficult flags of 1 box",
    "outside marks (the track left the view) of 1 box", "keyframe flags (not a keyframe) of 1 box",
    "sources (MANUAL/MODEL/INTERPOLATED) of 7 boxes", "confidence of 2 boxes", "notes of 1 box",
    "review state of 3 boxes",
]
LABEL_LOSSES = ["colours of 2 labels", "parents of 1 label", "episode annotations (2)"]


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

COCO_FIELDS = ("track_id", "occluded", "truncated", "difficult", "outside", "source", "confidence", "keyframe")


def test_coco_round_trips_geometry_tracks_flags_and_sources_exactly():
    data = sample()
    files, lost = export(ExportFormat.COCO, data)
    assert list(files) == ["annotations.json"]
    assert lost == ["notes of 1 box", "review state of 3 boxes", "colours of 2 labels", "episode annotations (2)"]
    back = coco.read(files, lambda name: None)
    assert back.boxes == [carried(b, *COCO_FIELDS) for b in data.boxes]
    assert back.images == data.images
    assert back.labels == [LabelEntry("person"), LabelEntry("cyclist", parent="person"), LabelEntry("cone")]
    document = json.loads(files["annotations.json"])
    assert document["categories"][1] == {"id": 2, "name": "cyclist", "supercategory": "person"}
    first = document["annotations"][0]
    assert first["bbox"] == [10.0, 5.0, 20.0, 30.0] and first["area"] == 600.0 and first["iscrowd"] == 0
    assert "score" not in first and document["annotations"][3]["score"] == 0.87
    assert b", " not in files["annotations.json"]  # compact


def test_coco_is_evaluated_by_pycocotools_as_a_perfect_match_of_itself(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    data = sample()
    files, _ = export(ExportFormat.COCO, data)
    write_tree(tmp_path, files)
    truth = COCO(str(tmp_path / "annotations.json"))
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
    assert back.images == [ImageEntry(image_file_name(2, "front", 4), 2, "front", 4, 64, 48),
                           ImageEntry("other.png", -1, "", -1, 100, 50)]
    assert back.boxes == [
        BoxEntry(image_file_name(2, "front", 4), "vehicle car", 1.0, 2.0, 3.0, 4.0),
        BoxEntry("other.png", "dog", 5.5, 6.0, 7.0, 8.0, "4", occluded=True, confidence=0.25),
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
    document = json.loads(files["annotations.json"])
    change(document)
    with pytest.raises(FormatError) as caught:
        coco.read({"export/annotations.json": json.dumps(document).encode()}, lambda name: None)
    assert caught.value.file == "export/annotations.json" and caught.value.where == where, caught.value
    assert reason in caught.value.reason, caught.value


def test_coco_write_and_read_of_100000_boxes_lose_nothing():
    images = [ImageEntry(image_file_name(e, "front", f), e, "front", f, 320, 240)
              for e in range(10) for f in range(1000)]
    boxes = [BoxEntry(m.file_name, ("a", "b")[k % 2], 10.5 + k, 20.25, 30.0, 40.0, f"t{k}", source="MODEL",
                      confidence=0.9) for m in images for k in range(10)]
    data = AnnotationSet([LabelEntry("a"), LabelEntry("b")], images, boxes)
    files, _ = export(ExportFormat.COCO, data)  # its speed is measured in bench/ground_truth.py
    back = coco.read(files, lambda name: None)
    assert back.boxes == boxes


# --- YOLO -------------------------------------------------------------------------------------------------

def test_yolo_round_trips_boxes_within_a_pixel_and_reports_what_it_drops():
    data = sample()
    files, lost = export(ExportFormat.YOLO, data)
    assert lost == BOX_LOSSES + LABEL_LOSSES
    assert sorted(files) == ["data.yaml"] + sorted(f"labels/{m.file_name[:-4]}.txt" for m in data.images)
    assert files[f"labels/{image_file_name(3, 'front', 5)[:-4]}.txt"] == b""
    back = yolo.read(files, sizes(data).get)
    assert back.labels == [LabelEntry("person"), LabelEntry("cyclist"), LabelEntry("cone")]
    assert sorted(back.images, key=lambda m: m.file_name) == sorted(data.images, key=lambda m: m.file_name)
    assert_near(back.boxes, [carried(b) for b in data.boxes], 1.0)
    whole = [b for b in data.boxes if all(float(v).is_integer() for v in (b.x, b.y, b.width, b.height))]
    assert {carried(b) for b in whole} <= set(back.boxes)  # whole-pixel boxes come back exactly


@pytest.fixture(scope="module")
def ultralytics_utils(tmp_path_factory):
    """ultralytics.data.utils, offline, its settings in a temporary folder (nothing downloaded or written to ~).

    Ultralytics is a required test dependency: failing to import it fails the test, it does not skip it."""
    config = tmp_path_factory.mktemp("yolo_config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOLO_OFFLINE", "1")
        patch.setenv("YOLO_CONFIG_DIR", str(config))
        import ultralytics.data.utils as utils

        yield utils


def test_yolo_is_read_by_ultralytics(tmp_path, monkeypatch, ultralytics_utils):
    from ultralytics.data import YOLODataset

    data = sample()
    files, _ = export(ExportFormat.YOLO, data)
    files.update({f"{yolo.IMAGE_DIR}/{m.file_name}": jpeg(m.width, m.height) for m in data.images})
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path.parent)  # without `path`, the folders resolve beside data.yaml wherever we run
    spec = ultralytics_utils.check_det_dataset(str(tmp_path / "data.yaml"), autodownload=False)
    assert spec["names"] == {0: "person", 1: "cyclist", 2: "cone"} and spec["nc"] == 3
    assert Path(spec["val"]) == tmp_path / "images"

    classes = {"person": 0, "cyclist": 1, "cone": 2}
    grouped = by_image(data.boxes)
    for m in data.images:
        image_file, label_file = tmp_path / "images" / m.file_name, tmp_path / "labels" / f"{m.file_name[:-4]}.txt"
        result = ultralytics_utils.verify_image_label((str(image_file), str(label_file), "", False, 3, 0, 0, False))
        _, labels, shape, _, _, missing, found, empty, corrupt, message = result
        assert (missing, found, corrupt) == (0, 1, 0), message
        assert tuple(shape) == (m.height, m.width)
        want = np.array([[classes[b.label], (b.x + b.width / 2) / m.width, (b.y + b.height / 2) / m.height,
                          b.width / m.width, b.height / m.height] for b in grouped.get(m.file_name, [])],
                        dtype=np.float64).reshape(-1, 5)
        assert empty == (len(want) == 0)
        assert labels.shape == want.shape and np.allclose(labels, want, atol=1e-6, rtol=0), (labels, want)

    dataset = YOLODataset(img_path=spec["val"], data=spec, task="detect", imgsz=64, augment=False, batch_size=1)
    assert len(dataset.labels) == len(data.images)
    assert sum(len(label["cls"]) for label in dataset.labels) == len(data.boxes)


@pytest.mark.parametrize(("line", "reason"), [
    ("0 0.5 0.5 0.2", "expected 5 numbers (class cx cy w h) or 6 (and a confidence), got 4"),
    ("7 0.5 0.5 0.2 0.2", "class 7 is not in data.yaml names (0..2)"),
    ("1.5 0.5 0.5 0.2 0.2", "class 1.5 is not in data.yaml names (0..2)"),
    ("0 0.5 1.2 0.2 0.2", "cy 1.2 is outside 0..1"),
    ("0 0.5 0.5 0 0.2", "width and height must be > 0"),
    ("0 0.5 0.5 0.2 x", "not a number: 'x'"),
    ("0 0.95 0.5 0.2 0.2", "the box spans x 54.4..67.2, outside the image (0..64)"),
    ("0 0.5 0.5 0.2 0.2 1.5", "confidence 1.5 must be between 0 and 1"),
])
def test_yolo_names_the_file_and_line(line, reason):
    data = sample()
    files, _ = export(ExportFormat.YOLO, data)
    name = f"ds/labels/{data.images[0].file_name[:-4]}.txt"
    files = {f"ds/{path}": content for path, content in files.items()}
    files[name] = files[name] + f"\n{line}\n".encode()
    with pytest.raises(FormatError) as caught:
        yolo.read(files, sizes(data).get)
    assert (caught.value.file, caught.value.line) == (name, 4), caught.value
    assert reason in caught.value.reason, caught.value


def test_yolo_reads_other_tools_layouts_and_clamps_rounding():
    names = "names: [car, person]\n"
    stem = image_file_name(1, "front", 3)[:-4]
    files = {
        "set/data.yaml": names.encode(),
        f"set/labels/train/{stem}.txt": b"1 0.5 0.5 0.25 0.5 0.75\n\n0 0.995 0.5 0.02 0.1\n",
        f"set/images/train/{stem}.png": b"",
        "set/labels/train/unknown.txt": b"",
    }
    size = {f"{stem}.png": (64, 48), "unknown.jpg": (10, 10)}
    back = yolo.read(files, size.get)
    assert back.labels == [LabelEntry("car"), LabelEntry("person")]
    assert [m.file_name for m in back.images] == [f"{stem}.png", "unknown.jpg"]
    assert back.boxes[0] == BoxEntry(f"{stem}.png", "person", 24.0, 12.0, 16.0, 24.0, confidence=0.75)
    clamped = back.boxes[1]  # 63.04..64.32: sticks out by a third of a pixel, clamped into the image
    end = clamped.x + clamped.width
    assert clamped.x == pytest.approx(63.04) and end <= 64 and end == pytest.approx(64)
    with pytest.raises(FormatError) as caught:
        yolo.read(files, {"unknown.jpg": (10, 10)}.get)
    assert caught.value.file == f"set/labels/train/{stem}.txt" and "is not known" in caught.value.reason


# --- Pascal VOC -------------------------------------------------------------------------------------------

def test_voc_round_trips_whole_pixels_exactly_and_rounds_the_rest():
    data = sample()
    files, lost = export(ExportFormat.VOC, data)
    assert lost == [loss for loss in BOX_LOSSES if "flags of" not in loss or "keyframe" in loss] + LABEL_LOSSES + [
        "sub-pixel corners of 2 boxes (rounded to whole pixels)"]
    assert files["labels.txt"] == b"person\ncyclist\ncone\n"
    assert files["ImageSets/Main/default.txt"].decode().split() == [m.file_name[:-4] for m in data.images]
    back = voc.read(files, lambda name: None)
    assert back.labels == [LabelEntry("person"), LabelEntry("cyclist"), LabelEntry("cone")]
    assert sorted(back.images, key=lambda m: m.file_name) == sorted(data.images, key=lambda m: m.file_name)
    want = [carried(b, "occluded", "truncated", "difficult") for b in data.boxes]
    assert_near(back.boxes, want, 1.0)
    whole = [b for b in want if all(float(v).is_integer() for v in (b.x, b.y, b.width, b.height))]
    assert len(whole) == 6 and set(whole) <= set(back.boxes)


def test_voc_xml_as_elementtree_reads_it():
    data = sample()
    files, _ = export(ExportFormat.VOC, data)
    grouped = by_image(data.boxes)
    for m in data.images:
        root = ET.fromstring(files[f"Annotations/{m.file_name[:-4]}.xml"])
        assert root.tag == "annotation" and root.findtext("filename") == m.file_name
        assert root.findtext("folder") == "JPEGImages" and root.findtext("segmented") == "0"
        assert [int(root.findtext(f"size/{k}")) for k in ("width", "height", "depth")] == [m.width, m.height, 3]
        objects = root.findall("object")
        assert len(objects) == len(grouped.get(m.file_name, []))
        for thing, b in zip(objects, grouped.get(m.file_name, []), strict=True):
            assert thing.findtext("name") == b.label and thing.findtext("pose") == "Unspecified"
            assert [thing.findtext(k) for k in ("truncated", "difficult", "occluded")] == [
                str(int(b.truncated)), str(int(b.difficult)), str(int(b.occluded))]
            corners = [int(thing.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            assert corners == [math.floor(b.x + 0.5) + 1, math.floor(b.y + 0.5) + 1,
                               math.floor(b.x + b.width + 0.5), math.floor(b.y + b.height + 0.5)]
            assert 1 <= corners[0] <= corners[2] <= m.width and 1 <= corners[1] <= corners[3] <= m.height


def test_voc_names_the_file_element_and_line():
    data = sample()
    files, _ = export(ExportFormat.VOC, data)
    name = f"Annotations/{data.images[0].file_name[:-4]}.xml"
    text = files[name].decode().replace("<xmax>64</xmax>", "<xmax>40</xmax>")
    with pytest.raises(FormatError) as caught:
        voc.read({**files, name: text.encode()}, lambda name: None)
    error = caught.value
    assert (error.file, error.where, error.reason) == (name, "annotation/object[2]/bndbox", "xmax (40) is less than xmin (45)")
    assert text.splitlines()[error.line - 1].strip() == "<bndbox>"

    text = files[name].decode().replace("<ymin>6</ymin>", "<ymin>six</ymin>")
    with pytest.raises(FormatError) as caught:
        voc.read({name: text.encode()}, lambda name: None)
    assert caught.value.where == "annotation/object[1]/bndbox/ymin" and "must be a number" in caught.value.reason
    assert text.splitlines()[caught.value.line - 1].strip() == "<ymin>six</ymin>"

    with pytest.raises(FormatError) as caught:
        voc.read({"a.xml": b"<annotation>\n<object>\n</annotation>"}, lambda name: None)
    assert caught.value.line == 3 and "not well-formed" in caught.value.reason


def test_voc_refuses_entity_expansion():
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>&lol3;</filename></annotation>"""
    with pytest.raises(FormatError) as caught:
        voc.read({"Annotations/x.xml": laughs}, lambda name: None)
    assert caught.value.file == "Annotations/x.xml" and "refused unsafe XML" in caught.value.reason


def test_voc_from_other_tools_zero_based_and_without_sizes():
    xml = b"""<annotation><filename>img/cam_1.jpg</filename><size><width>0</width><height>0</height></size>
<object><name>dog</name><bndbox><xmin>0</xmin><ymin>3</ymin><xmax>10</xmax><ymax>21</ymax></bndbox></object>
</annotation>"""
    back = voc.read({"cam_1.xml": xml}, {"cam_1.jpg": (10, 20)}.get)
    assert back.images == [ImageEntry("cam_1.jpg", -1, "", -1, 10, 20)]
    assert back.boxes == [BoxEntry("cam_1.jpg", "dog", 0.0, 2.0, 10.0, 18.0)]  # clamped by a pixel each way
    with pytest.raises(FormatError) as caught:
        voc.read({"cam_1.xml": xml}, lambda name: None)
    assert "image size is missing" in caught.value.reason and caught.value.where == "annotation/size"


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
    assert registry.detect_format({"mine.json": coco_files["annotations.json"]}) == ExportFormat.COCO
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
