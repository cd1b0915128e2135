"""YOLO and Pascal VOC: round trips, readers of other tools' files, errors naming file and line."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
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
    image_file_name,
)
from tests.domain.objects.format_samples import (
    BOX_LOSSES,
    LABEL_LOSSES,
    assert_near,
    by_image,
    carried,
    export,
    image,
    jpeg,
    sample,
    sizes,
    write_tree,
)

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
    # labels/train/ is the train split; an empty label file of an image the upload lacks holds nothing
    assert [m.file_name for m in back.images] == [f"{stem}.png"]
    assert back.boxes[0] == BoxEntry(f"{stem}.png", "person", 24.0, 12.0, 16.0, 24.0, score=0.75, split="train")
    clamped = back.boxes[1]  # 63.04..64.32: sticks out by a third of a pixel, clamped into the image
    end = clamped.x + clamped.width
    assert clamped.x == pytest.approx(63.04) and end <= 64 and end == pytest.approx(64)
    with pytest.raises(FormatError) as caught:
        yolo.read(files, {"unknown.jpg": (10, 10)}.get)
    assert caught.value.file == f"set/labels/train/{stem}.txt" and "is not known" in caught.value.reason
    with pytest.raises(FormatError) as caught:  # boxes of an image the upload lacks: an error, not skipped
        yolo.read({**files, "set/labels/train/unknown.txt": b"0 0.5 0.5 0.1 0.1\n"}, size.get)
    assert caught.value.file == "set/labels/train/unknown.txt" and "no image of the upload" in caught.value.reason


def _ultralytics_reads(tmp_path: Path, utils, files: dict[str, bytes], image: str, classes: int) -> tuple:
    """verify_image_label's (labels, segments, missing, found, empty, corrupt) for `image` of `files`,
    written with real JPEGs of 64 x 48."""
    write_tree(tmp_path, {p: (jpeg(64, 48) if p.endswith(".jpg") else c) for p, c in files.items()})
    image_file = tmp_path / image
    label_file = Path(utils.img2label_paths([str(image_file)])[0])
    result = utils.verify_image_label((str(image_file), str(label_file), "", False, classes, 0, 0, False))
    return result[1], result[3], *result[5:9]


def test_yolo_segments_come_in_as_the_boxes_ultralytics_trains_on(tmp_path, ultralytics_utils):
    stem = image_file_name(1, "front", 3)[:-4]
    image = f"{stem}.jpg"
    segments = b"1 0.1 0.2 0.5 0.25 0.3 0.75\n0 0.5 0.5 0.75 0.5 0.625 0.875 0.5 0.75\n"
    files = {"data.yaml": b"names: [car, person]\n", f"labels/{stem}.txt": segments, f"images/{image}": b""}
    back = yolo.read(files, {image: (64, 48)}.get)
    assert back.boxes == [BoxEntry(image, "person", 6.4, 9.6, 25.6, 26.4), BoxEntry(image, "car", 32.0, 24.0, 16.0, 18.0)]
    assert back.dropped == {"polygons": 2}  # the outlines: only the box around each comes in

    labels, outlines, missing, found, empty, corrupt = _ultralytics_reads(
        tmp_path, ultralytics_utils, files, f"images/{image}", 2)
    assert (missing, found, empty, corrupt) == (0, 1, 0, 0) and len(outlines) == 2
    ours = [[{"car": 0, "person": 1}[b.label], (b.x + b.width / 2) / 64, (b.y + b.height / 2) / 48, b.width / 64,
             b.height / 48] for b in back.boxes]
    assert np.allclose(labels, ours, atol=1e-6, rtol=0), (labels, ours)


@pytest.mark.parametrize(("row", "reason"), [
    ("0 0.5 0.5 0.2 0.2", "a box row (class cx cy w h) in a file of segment rows"),
    ("0 0.5 0.5 0.2 0.2 0.9", "a segment row is a class and 3 or more x y pairs, got 6 numbers"),
    ("0 0.1 0.1 0.2 0.1 0.2 0.2 0.3", "a segment row is a class and 3 or more x y pairs, got 8 numbers"),
    ("0 0.1 0.1 0.2 0.1 0.2 1.5", "y3 1.5 is outside 0..1"),
])
def test_yolo_segment_files_ultralytics_refuses_are_refused(tmp_path, ultralytics_utils, row, reason):
    stem = image_file_name(1, "front", 3)[:-4]
    files = {"data.yaml": b"names: [car]\n", f"labels/{stem}.txt": f"0 0.1 0.2 0.5 0.25 0.3 0.75\n{row}\n".encode(),
             f"images/{stem}.jpg": b""}
    with pytest.raises(FormatError) as caught:
        yolo.read(files, {f"{stem}.jpg": (64, 48)}.get)
    assert (caught.value.file, caught.value.line) == (f"labels/{stem}.txt", 2) and reason in caught.value.reason
    *_, corrupt = _ultralytics_reads(tmp_path, ultralytics_utils, files, f"images/{stem}.jpg", 1)
    assert corrupt == 1  # Ultralytics refuses the file too


def test_yolo_reads_cvat_yolo_1_1_by_its_subset_lists():
    files = {
        "obj.names": b"car\nperson\n",
        "obj.data": b"classes = 2\ntrain = data/train.txt\nvalid = data/valid.txt\nnames = data/obj.names\nbackup = backup/\n",
        "train.txt": b"data/obj_train_data/a.png\n",
        "valid.txt": b"data/obj_valid_data/b.jpg\n",
        "obj_train_data/a.txt": b"1 0.5 0.5 0.25 0.5\n",
        "obj_train_data/a.png": b"",
        "obj_valid_data/b.txt": b"0 0.5 0.5 0.5 0.5\n",
    }
    size = {"a.png": (64, 48), "b.jpg": (64, 48)}
    back = yolo.read(files, size.get)
    assert back.labels == [LabelEntry("car"), LabelEntry("person")]
    assert [m.file_name for m in back.images] == ["a.png", "b.jpg"]  # b.jpg: named by valid.txt, not uploaded
    assert back.boxes == [BoxEntry("a.png", "person", 24.0, 12.0, 16.0, 24.0, split="train"),
                          BoxEntry("b.jpg", "car", 16.0, 12.0, 32.0, 24.0, split="valid")]
    with pytest.raises(FormatError) as caught:  # boxes of an image neither uploaded nor listed
        yolo.read({**files, "obj_train_data/c.txt": b"0 0.5 0.5 0.5 0.5\n"}, size.get)
    assert caught.value.file == "obj_train_data/c.txt" and "no image of the upload pairs" in caught.value.reason

    # Without lists or images, the folder says the subset and the label file's stem the image.
    bare = {"cvat/obj.names": b"car\n", "cvat/obj_train_data/d.txt": b"0 0.5 0.5 0.5 0.5\n"}
    assert yolo.read(bare, {"d.jpg": (64, 48)}.get).boxes == [BoxEntry("d.jpg", "car", 16.0, 12.0, 32.0, 24.0,
                                                                        split="train")]


def test_yolo_label_files_elsewhere_are_read_beside_their_image_or_named():
    files = {"classes.txt": b"car\n", "shots/a.jpg": b"", "shots/a.txt": b"0 0.5 0.5 0.5 0.5\n",
             "README.txt": b"labelled by hand\n"}  # LabelImg: each image's .txt beside it
    back = yolo.read(files, {"a.jpg": (64, 48)}.get)
    assert back.boxes == [BoxEntry("a.jpg", "car", 16.0, 12.0, 32.0, 24.0)]
    with pytest.raises(FormatError) as caught:  # YOLO rows that pair with no image: never skipped in silence
        yolo.read({**files, "stray/b.txt": b"0 0.5 0.5 0.5 0.5\n"}, {"a.jpg": (64, 48)}.get)
    assert caught.value.file == "stray/b.txt" and "no image of the upload pairs" in caught.value.reason
    with pytest.raises(FormatError) as caught:
        yolo.read({"data.yaml": b"names: [car]\n", "images/a.jpg": b""}, {"a.jpg": (64, 48)}.get)
    assert caught.value.file == "data.yaml" and "no label files" in caught.value.reason


def test_label_studio_notes_json_beside_yolo_labels_is_not_coco():
    notes = json.dumps({"categories": [{"id": 0, "name": "car"}], "info": {"contributor": "Label Studio"}})
    files = {"classes.txt": b"car\n", "notes.json": notes.encode(), "labels/a.txt": b"0 0.5 0.5 0.5 0.5\n",
             "images/a.jpg": b""}
    assert registry.detect_format(files) == ExportFormat.YOLO
    assert registry.detect_format({"notes.json": notes.encode()}) == ExportFormat.COCO  # alone: COCO's to judge


def test_yolo_negatives_are_empty_label_files_ultralytics_counts_as_background(tmp_path, ultralytics_utils):
    shot, empty = image(0, "front", 0), image(0, "front", 1)
    data = AnnotationSet([LabelEntry("car")], [shot, empty], [BoxEntry(shot.file_name, "car", 16, 12, 32, 24)])
    files: dict[str, bytes] = {}
    yolo.write(data, files.__setitem__, TransferOptions(negatives=True))
    assert files[f"labels/{empty.file_name[:-4]}.txt"] == b""
    files.update({f"images/{m.file_name}": b"" for m in data.images})
    _, _, missing, found, is_empty, corrupt = _ultralytics_reads(
        tmp_path, ultralytics_utils, files, f"images/{empty.file_name}", 1)
    assert (missing, found, is_empty, corrupt) == (0, 1, 1, 0)
    assert yolo.read(files, sizes(data).get).images == data.images


# --- Pascal VOC -------------------------------------------------------------------------------------------

VOC_CARRIED = ("occluded", "truncated", "difficult", "track_id", "keyframe")


def voc_export(data: AnnotationSet, one_based: bool = False, negatives: bool = False) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    fidelity = voc.write(data, files.__setitem__, TransferOptions(voc_one_based=one_based, negatives=negatives))
    return files, fidelity.lost


def voc_corners(files: dict[str, bytes]) -> dict[str, list[tuple[str, list[float]]]]:
    """{annotation file: [(label, [xmin, ymin, xmax, ymax]) per object]} as the XML holds them."""
    found = {}
    for name, content in files.items():
        if name.endswith(".xml"):
            root = ET.fromstring(content)
            found[name] = [(thing.findtext("name"), [float(thing.findtext(f"bndbox/{k}"))
                                                     for k in ("xmin", "ymin", "xmax", "ymax")])
                           for thing in root.findall("object")]
    return found


@pytest.mark.parametrize("one_based", [False, True])
def test_voc_round_trips_whole_pixels_exactly_and_rounds_the_rest(one_based):
    """Written and read back in the same convention (CVAT/datumaro by default, the devkit's 1-based one)."""
    data = sample()
    files, lost = voc_export(data, one_based)
    assert lost == [loss for loss in BOX_LOSSES if not loss.startswith(("track ids", "occluded", "truncated",
                                                                         "difficult", "keyframe"))] + [
        "parents of 1 label", "episode annotations (2)", "sub-pixel corners of 2 boxes (rounded to whole pixels)"]
    assert files["labelmap.txt"] == b"# label:color_rgb:parts:actions\nperson:230,25,75::\ncyclist:60,180,75::\ncone:::\n"
    assert files["ImageSets/Main/default.txt"].decode().split() == [m.file_name[:-4] for m in data.images]
    back = voc.read(files, lambda name: None, TransferOptions(voc_one_based=one_based))
    assert back.labels == [LabelEntry("person", "#e6194b"), LabelEntry("cyclist", "#3cb44b"), LabelEntry("cone")]
    assert sorted(back.images, key=lambda m: m.file_name) == sorted(data.images, key=lambda m: m.file_name)
    want = [replace(carried(b, *VOC_CARRIED), split="default") for b in data.boxes]
    assert_near(back.boxes, want, 1.0)
    whole = [b for b in want if all(float(v).is_integer() for v in (b.x, b.y, b.width, b.height))]
    assert len(whole) == 6 and set(whole) <= set(back.boxes)
    assert back.dropped == {}


def test_voc_corners_are_cvat_and_datumaros_by_default_and_the_devkits_as_an_option():
    data = sample()
    default, _ = voc_export(data)
    devkit, _ = voc_export(data, one_based=True)
    grouped = by_image(data.boxes)
    for m in data.images:
        name = f"Annotations/{m.file_name[:-4]}.xml"
        boxes = grouped.get(m.file_name, [])
        pixel = [[math.floor(b.x + 0.5), math.floor(b.y + 0.5), math.floor(b.x + b.width + 0.5),
                  math.floor(b.y + b.height + 0.5)] for b in boxes]
        assert voc_corners(default)[name] == [(b.label, p) for b, p in zip(boxes, pixel, strict=True)]
        assert voc_corners(devkit)[name] == [(b.label, [p[0] + 1, p[1] + 1, p[2], p[3]])
                                             for b, p in zip(boxes, pixel, strict=True)]
    # What datumaro makes of our default export (x = xmin, w = xmax - xmin) is what we read back.
    back = voc.read(default, lambda name: None)
    datumaro = sorted((label, c[0], c[1], c[2] - c[0], c[3] - c[1]) for objects in voc_corners(default).values()
                      for label, c in objects)
    assert datumaro == sorted((b.label, b.x, b.y, b.width, b.height) for b in back.boxes)


THIN = [  # boxes a careless rounding writes with xmin = xmax: 1 px wide, sub-pixel, on the far border
    BoxEntry("t.jpg", "a", 167.0, 100.0, 1.0, 3.0),
    BoxEntry("t.jpg", "a", 10.2, 5.0, 0.3, 0.4),
    BoxEntry("t.jpg", "a", 10.5, 7.5, 0.4, 0.2),
    BoxEntry("t.jpg", "a", 319.8, 239.7, 0.2, 0.3),
    BoxEntry("t.jpg", "a", 0.0, 0.0, 0.49, 320.0 - 80.0),
]


def test_no_voc_export_writes_a_box_without_width():
    data = AnnotationSet([LabelEntry("a")], [ImageEntry("t.jpg", -1, "", -1, 320, 240)], THIN)
    files, lost = voc_export(data)
    for _, c in voc_corners(files)["Annotations/t.xml"]:
        assert 0 <= c[0] < c[2] <= 320 and 0 <= c[1] < c[3] <= 240, c  # xmin = xmax nowhere
    back = voc.read(files, lambda name: None)
    assert back.boxes[0] == replace(THIN[0], split="default")  # a whole 1 px box comes back as it was
    assert all(b.width >= 1 and b.height >= 1 for b in back.boxes)
    assert lost == ["sub-pixel corners of 4 boxes (rounded to whole pixels)"]
    # The devkit's corners are inclusive: xmax >= xmin, a 1 px box with both the same, as the devkit means.
    devkit, _ = voc_export(data, one_based=True)
    corners = [c for _, c in voc_corners(devkit)["Annotations/t.xml"]]
    assert corners[0] == [168, 101, 168, 103]
    assert all(1 <= c[0] <= c[2] <= 320 and 1 <= c[1] <= c[3] <= 240 for c in corners), corners
    again = voc.read(devkit, lambda name: None, TransferOptions(voc_one_based=True))
    assert [(b.x, b.y, b.width, b.height) for b in again.boxes] == [(b.x, b.y, b.width, b.height) for b in back.boxes]


def test_voc_refuses_a_box_without_width_and_names_the_devkit_option():
    xml = (b"<annotation><filename>a.jpg</filename><size><width>320</width><height>240</height></size>\n"
           b"<object><name>a</name>\n<bndbox><xmin>168</xmin><ymin>101</ymin><xmax>168</xmax><ymax>103</ymax></bndbox>"
           b"</object></annotation>")
    with pytest.raises(FormatError) as caught:
        voc.read({"Annotations/a.xml": xml}, lambda name: None)
    error = caught.value
    assert (error.file, error.line, error.where) == ("Annotations/a.xml", 3, "annotation/object[1]/bndbox")
    assert error.reason.startswith("xmax equals xmin (168)") and "1-based VOC option" in error.reason
    back = voc.read({"Annotations/a.xml": xml}, lambda name: None, TransferOptions(voc_one_based=True))
    assert back.boxes == [BoxEntry("a.jpg", "a", 167.0, 100.0, 1.0, 3.0)]


def test_voc_xml_as_elementtree_reads_it():
    data = sample()
    files, _ = voc_export(data)
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
            assert 0 <= corners[0] < corners[2] <= m.width and 0 <= corners[1] < corners[3] <= m.height
            # CVAT's per-box attributes: the track and whether this box is one of its keyframes
            attributes = {a.findtext("name"): a.findtext("value") for a in thing.findall("attributes/attribute")}
            assert attributes == ({"track_id": b.track_id, "keyframe": str(b.keyframe)} if b.track_id else {})


def test_voc_reads_cvat_attributes_and_counts_what_it_drops():
    xml = b"""<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height></size>
<segmented>1</segmented>
<object><name>car</name><pose>Left</pose><occluded>0</occluded>
  <bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>11.5</xmax><ymax>22.25</ymax></bndbox>
  <attributes>
    <attribute><name>track_id</name><value>7</value></attribute>
    <attribute><name>keyframe</name><value>False</value></attribute>
    <attribute><name>occluded</name><value>true</value></attribute>
    <attribute><name>rotation</name><value>30.5</value></attribute>
    <attribute><name>color</name><value>red</value></attribute>
    <attribute><name>doors</name><value>4</value></attribute>
  </attributes>
  <part><name>wheel</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></part>
  <part><name>wheel</name><bndbox><xmin>5</xmin><ymin>2</ymin><xmax>7</xmax><ymax>4</ymax></bndbox></part>
  <actions><driving>1</driving></actions>
</object>
<object><name>car</name><bndbox><xmin>20</xmin><ymin>2</ymin><xmax>30</xmax><ymax>12</ymax></bndbox>
  <attributes><attribute><name>rotation</name><value>360.0</value></attribute></attributes>
</object>
</annotation>"""
    back = voc.read({"Annotations/a.xml": xml, "ImageSets/Main/train.txt": b"a\n",
                     "ImageSets/Main/car_train.txt": b"a 1\n"}, lambda name: None)
    assert back.boxes == [
        BoxEntry("a.jpg", "car", 1.5, 2.0, 10.0, 20.25, track_id="7", occluded=True, keyframe=False,
                 attributes={"color": "red", "doors": "4", "pose": "Left"}, split="train"),
        BoxEntry("a.jpg", "car", 20.0, 2.0, 10.0, 10.0, split="train"),
    ]
    assert back.dropped == {"masks": 1, "parts": 2, "actions": 1, "rotation": 1}

    bad = xml.replace(b"<value>False</value>", b"<value>maybe</value>")
    with pytest.raises(FormatError) as caught:
        voc.read({"Annotations/a.xml": bad}, lambda name: None)
    assert caught.value.where == "annotation/object[1]/attributes" and "keyframe must be true or false" in str(caught.value)
    assert caught.value.line == 3


def test_voc_writes_tracks_attributes_splits_and_negatives_as_it_reads_them():
    shot, empty, other = image(0, "front", 0), image(0, "front", 1), image(0, "wrist", 0)
    boxes = [
        BoxEntry(shot.file_name, "car", 1, 2, 10, 20, "t1", keyframe=False, attributes={"color": "red", "pose": "Left"},
                 split="train"),
        BoxEntry(other.file_name, "car", 3, 4, 5, 6, attributes={"doors": 4, "new": True}, split="valid_2"),
    ]
    data = AnnotationSet([LabelEntry("car", "#ff0000")], [shot, empty, other], boxes)
    files, lost = voc_export(data, negatives=True)
    assert lost == []
    assert files["ImageSets/Main/train.txt"] == f"{shot.file_name[:-4]}\n".encode()
    assert files["ImageSets/Main/default.txt"] == f"{empty.file_name[:-4]}\n".encode()  # a background image
    assert files["ImageSets/Main/valid-2.txt"] == f"{other.file_name[:-4]}\n".encode()  # datumaro skips "_"
    assert ET.fromstring(files[f"Annotations/{empty.file_name[:-4]}.xml"]).findall("object") == []
    back = voc.read(files, lambda name: None)
    assert sorted(back.images, key=lambda m: m.file_name) == sorted(data.images, key=lambda m: m.file_name)
    assert back.labels == [LabelEntry("car", "#ff0000")]
    assert back.boxes == [  # plain attributes come back as the text VOC holds
        replace(boxes[0], attributes={"color": "red", "pose": "Left"}),
        replace(boxes[1], attributes={"doors": "4", "new": "True"}, split="valid-2"),
    ]


def test_voc_label_lists():
    xml = b"<annotation><filename>a.jpg</filename><size><width>9</width><height>9</height></size></annotation>"
    labelmap = b"# label:color_rgb:parts:actions\nbackground:0,0,0::\nperson:250,50,83:head,hand:walking\ncar:::\n"
    back = voc.read({"Annotations/a.xml": xml, "labelmap.txt": labelmap}, lambda name: None)
    assert back.labels == [LabelEntry("background", "#000000"), LabelEntry("person", "#fa3253"), LabelEntry("car")]
    old = voc.read({"Annotations/a.xml": xml, "labels.txt": b"person\ncar\n"}, lambda name: None)  # our old exports
    assert old.labels == [LabelEntry("person"), LabelEntry("car")]
    with pytest.raises(FormatError) as caught:
        voc.read({"Annotations/a.xml": xml, "labelmap.txt": b"# x\nperson:250,50::\n"}, lambda name: None)
    assert (caught.value.file, caught.value.line) == ("labelmap.txt", 2) and "must be r,g,b" in caught.value.reason
    with pytest.raises(ValueError, match="cannot be written to labelmap.txt"):
        voc_export(AnnotationSet([LabelEntry("a:b")], [], []))


def test_voc_names_the_file_element_and_line():
    data = sample()
    files, _ = export(ExportFormat.VOC, data)
    name = f"Annotations/{data.images[0].file_name[:-4]}.xml"
    text = files[name].decode().replace("<xmax>64</xmax>", "<xmax>40</xmax>")
    with pytest.raises(FormatError) as caught:
        voc.read({**files, name: text.encode()}, lambda name: None)
    error = caught.value
    assert (error.file, error.where, error.reason) == (name, "annotation/object[2]/bndbox", "xmax (40) is less than xmin (44)")
    assert text.splitlines()[error.line - 1].strip() == "<bndbox>"

    text = files[name].decode().replace("<ymin>5</ymin>", "<ymin>six</ymin>")
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


def test_voc_from_other_tools_without_sizes_and_a_pixel_outside():
    xml = b"""<annotation><filename>img/cam_1.jpg</filename><size><width>0</width><height>0</height></size>
<object><name>dog</name><bndbox><xmin>0</xmin><ymin>3</ymin><xmax>10</xmax><ymax>21</ymax></bndbox></object>
</annotation>"""
    back = voc.read({"cam_1.xml": xml}, {"cam_1.jpg": (10, 20)}.get)
    assert back.images == [ImageEntry("cam_1.jpg", -1, "", -1, 10, 20)]
    assert back.boxes == [BoxEntry("cam_1.jpg", "dog", 0.0, 3.0, 10.0, 17.0)]  # ymax 21: clamped into the image
    devkit = voc.read({"cam_1.xml": xml}, {"cam_1.jpg": (10, 20)}.get, TransferOptions(voc_one_based=True))
    assert devkit.boxes == [BoxEntry("cam_1.jpg", "dog", 0.0, 2.0, 10.0, 18.0)]  # xmin 0 (-1): clamped
    with pytest.raises(FormatError) as caught:
        voc.read({"cam_1.xml": xml}, lambda name: None)
    assert "image size is missing" in caught.value.reason and caught.value.where == "annotation/size"
