"""YOLO and Pascal VOC: round trips, readers of other tools' files, errors naming file and line."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from domain.objects.transfer.formats import voc, yolo
from domain.objects.transfer.formats.model import (
    BoxEntry,
    ExportFormat,
    FormatError,
    ImageEntry,
    LabelEntry,
    image_file_name,
)
from tests.domain.objects.format_samples import (
    BOX_LOSSES,
    LABEL_LOSSES,
    assert_near,
    by_image,
    carried,
    export,
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
    assert [m.file_name for m in back.images] == [f"{stem}.png", "unknown.jpg"]
    assert back.boxes[0] == BoxEntry(f"{stem}.png", "person", 24.0, 12.0, 16.0, 24.0, score=0.75)
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
