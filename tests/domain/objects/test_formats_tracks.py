"""CVAT for video 1.1 XML and MOT 1.1: tracks, keyframes and outside marks in and out."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from domain.objects.transfer.formats import cvat_xml, mot, registry
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    FormatError,
    ImageEntry,
    LabelEntry,
    image_file_name,
)
from domain.objects.transfer.formats.video_layout import folder_labels
from tests.domain.objects.format_samples import carried, export, sample

FIELD_CASES = Path(__file__).resolve().parents[2] / "field_cases" / "annotations"


def field_case(name: str, under: str = "") -> dict[str, bytes]:
    root = FIELD_CASES / name
    return {
        under + p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def frame(episode: int, camera: str, number: int, size: tuple[int, int] = (64, 48)) -> ImageEntry:
    return ImageEntry(image_file_name(episode, camera, number), episode, camera, number, *size)


def by_frame(data: AnnotationSet) -> list[tuple[tuple[int, str, int], BoxEntry]]:
    """Boxes keyed by the frame they lie on (names differ: frame-numbered formats name frames by folder)."""
    frames = {m.file_name: (m.episode_index, m.camera, m.frame) for m in data.images}
    return sorted(
        ((frames[b.file_name], replace(b, file_name="")) for b in data.boxes),
        key=lambda item: (item[0], item[1].track_id or "", item[1].label, item[1].x),
    )


def assert_same_boxes(got: AnnotationSet, want: AnnotationSet, tolerance: float = 1e-9) -> None:
    """The same boxes on the same frames, every field equal, geometry within `tolerance` pixels (CVAT
    writes corners: width = xbr - xtl can differ from the width in its last bit)."""
    got_boxes, want_boxes = by_frame(got), by_frame(want)
    assert [key for key, _ in got_boxes] == [key for key, _ in want_boxes]
    for (key, g), (_, w) in zip(got_boxes, want_boxes, strict=True):
        for name in ("x", "y", "width", "height"):
            assert abs(getattr(g, name) - getattr(w, name)) <= tolerance, (key, name, g, w)
        assert replace(g, x=w.x, y=w.y, width=w.width, height=w.height) == w, key


def tracked() -> AnnotationSet:
    """Two videos of tracks: string and number ids, keyframes and interpolated boxes, an outside mark in a
    gap and one ending a track, occluded boxes, attributes of each plain type, boxes without a track."""
    images = [frame(1, "front", f) for f in (0, 1, 2, 3, 5, 6, 9)] + [
        frame(2, "wrist", f, (80, 60)) for f in (4, 5)
    ]
    n = {m.frame if m.camera == "front" else 100 + m.frame: m.file_name for m in images}
    labels = [LabelEntry("person", "#e6194b"), LabelEntry("cone", "#ffe119")]
    a = {"color": "red", "visible": True, "count": 3, "ratio": 0.25}
    boxes = [
        BoxEntry(n[0], "person", 10.0, 5.0, 20.0, 30.0, "DET_PERSON_0001", source="MANUAL", attributes=a),
        BoxEntry(
            n[1],
            "person",
            11.0,
            5.5,
            20.0,
            30.0,
            "DET_PERSON_0001",
            source="INTERPOLATED",
            keyframe=False,
            attributes=a,
        ),
        BoxEntry(
            n[2],
            "person",
            12.0,
            6.0,
            20.0,
            30.0,
            "DET_PERSON_0001",
            source="MANUAL",
            attributes={**a, "visible": False, "count": 4},
        ),
        BoxEntry(
            n[3],
            "person",
            12.0,
            6.0,
            20.0,
            30.0,
            "DET_PERSON_0001",
            outside=True,
            source="MANUAL",
            attributes=a,
        ),
        BoxEntry(
            n[6],
            "person",
            30.5,
            6.0,
            20.0,
            30.0,
            "DET_PERSON_0001",
            occluded=True,
            source="MANUAL",
            attributes=a,
        ),
        BoxEntry(
            n[9],
            "person",
            31.0,
            7.0,
            20.0,
            30.0,
            "DET_PERSON_0001",
            outside=True,
            source="MANUAL",
            attributes=a,
        ),
        BoxEntry(n[1], "cone", 0.1 + 0.2, 0.0, 10.7, 12.3, "cone-7", source="MODEL"),
        BoxEntry(n[5], "cone", 40.0, 30.0, 24.0, 18.0, "cone-7", source="MODEL"),
        BoxEntry(n[2], "cone", 1.0, 2.0, 3.0, 4.0, source="MANUAL", attributes={"note": 'line\nbreak <&>"'}),
        BoxEntry(n[9], "cone", 50.0, 40.0, 14.0, 8.0, source="MODEL"),
        BoxEntry(n[104], "person", 5.0, 5.0, 10.0, 10.0, "7", source="IMPORTED", split="train"),
        BoxEntry(n[105], "person", 6.0, 5.0, 10.0, 10.0, "7", source="IMPORTED", split="train"),
        BoxEntry(n[105], "cone", 60.0, 40.0, 20.0, 20.0, "12", source="MODEL", split="train"),
    ]
    return AnnotationSet(labels, images, boxes, video_lengths={(1, "front"): 10, (2, "wrist"): 8})


# --- CVAT for video 1.1 -------------------------------------------------------------------------------------


def test_the_cvat_video_field_case_reads_its_track_with_the_outside_keyframe():
    files = field_case("cvat_xml")
    assert registry.detect_format(files) == ExportFormat.CVAT
    back = cvat_xml.read(files, {"frame_000010.jpg": (100, 80), "frame_000011.jpg": (100, 80)}.get)
    assert back.labels == [LabelEntry("pedestrian")]
    assert back.images == [
        ImageEntry("frame_000010.jpg", -1, "", 10, 100, 80),
        ImageEntry("frame_000011.jpg", -1, "", 11, 100, 80),
    ]
    assert back.boxes == [
        BoxEntry("frame_000010.jpg", "pedestrian", 10.0, 20.0, 20.0, 30.0, "0", source="MANUAL"),
        BoxEntry(
            "frame_000011.jpg", "pedestrian", 10.0, 20.0, 20.0, 30.0, "0", outside=True, source="MANUAL"
        ),
    ]
    assert back.dropped == {}
    # In one of our folders, the frames are that episode's and camera's.
    ours = cvat_xml.read(field_case("cvat_xml", "zip/episode_000003_side/"), lambda name: (100, 80))
    assert ours.images[1] == ImageEntry("episode_000003_side/frame_000011.jpg", 3, "side", 11, 100, 80)
    assert [b.file_name for b in ours.boxes] == [m.file_name for m in ours.images]


def test_cvat_video_round_trips_tracks_keyframes_outside_occluded_and_attributes_exactly():
    data = tracked()
    files, lost = export(ExportFormat.CVAT, data)
    assert sorted(files) == ["episode_000001_front/annotations.xml", "episode_000002_wrist/annotations.xml"]
    assert lost == []  # every field of these boxes is carried
    back = cvat_xml.read(files, lambda name: None)  # the sizes are in the meta
    assert_same_boxes(back, data)
    assert back.labels == data.labels and back.dropped == {}
    assert back.images[0] == ImageEntry("episode_000001_front/frame_000000.jpg", 1, "front", 0, 64, 48)
    assert {m.file_name for m in back.images} == {b.file_name for b in back.boxes}
    front = files["episode_000001_front/annotations.xml"].decode()
    # Names that are no numbers are numbered, and named in the meta; a box without a track is a one-box track
    # closed by an outside keyframe on the next frame, as CVAT exports a shape.
    assert '<named id="0">DET_PERSON_0001</named>' in front and '<named id="1">cone-7</named>' in front
    assert '<untracked id="2"/>' in front and '<untracked id="3"/>' in front
    assert re.search(
        r'<track id="2" label="cone" source="manual">\s*<box frame="2" keyframe="1" outside="0"'
        r'[^>]*>\s*<attribute name="note">line\nbreak &lt;&amp;&gt;"</attribute>\s*</box>\s*'
        r'<box frame="3" keyframe="1" outside="1"',
        front,
    )
    # The box on the video's last frame needs no closing mark.
    assert re.search(
        r'<track id="3" label="cone" source="auto">\s*<box frame="9"[^>]*></box>\s*</track>', front
    )
    assert "<size>10</size>" in front and "<stop_frame>9</stop_frame>" in front
    assert "<original_size>\n        <width>64</width>\n        <height>48</height>" in front
    assert (
        "<name>count</name>\n              <mutable>True</mutable>\n              <input_type>number"
        "</input_type>"
    ) in front
    assert '<box frame="1" keyframe="0" outside="0" occluded="0" xtl="11.0" ytl="5.5" xbr="31.0"' in front
    wrist = files["episode_000002_wrist/annotations.xml"].decode()
    # Number ids are kept as they are; a video whose boxes share a split names it as the task's subset.
    assert '<track id="7" label="person" source="file">' in wrist and '<track id="12"' in wrist
    assert "<subset>train</subset>" in wrist and "annograph_tracks" not in wrist


def test_cvat_video_names_what_it_cannot_carry():
    data = sample()
    files, lost = export(ExportFormat.CVAT, data)
    assert lost == [
        "truncated flags of 1 box",
        "difficult flags of 1 box",
        "scores of 2 boxes",
        "notes of 1 box",
        "review state of 3 boxes",
        "parents of 1 label",
        "episode annotations (2)",
    ]
    back = cvat_xml.read(files, lambda name: None)
    kept = ("track_id", "occluded", "outside", "keyframe", "source")
    assert_same_boxes(back, replace(data, boxes=[carried(b, *kept) for b in data.boxes]))
    assert back.labels == [replace(label, parent=None) for label in data.labels]
    # Sources a track cannot hold, a split that differs within a video, and numbers among text.
    mixed = tracked()
    mixed.boxes[4] = replace(mixed.boxes[4], source="MODEL")  # a keyframe of a MANUAL track
    mixed.boxes[7] = replace(mixed.boxes[7], source="INTERPOLATED")  # a keyframe
    mixed.boxes[12] = replace(mixed.boxes[12], split="valid")
    mixed.boxes[8] = replace(mixed.boxes[8], attributes={"note": 5})
    mixed.boxes[9] = replace(mixed.boxes[9], label="cone", attributes={"note": "five"})
    _, lost = export(ExportFormat.CVAT, mixed)
    assert lost == [
        "sources of 2 boxes (a track has one: its keyframes' commonest; the others read as INTERPOLATED)",
        "splits (train / valid / ...) of 1 box (a video has one subset)",
        "custom attribute types of 1 box (numbers or true/false among text are written as text)",
    ]


def test_cvat_video_length_decides_the_closing_outside_keyframe():
    image = frame(0, "front", 4)
    box = BoxEntry(image.file_name, "cone", 1.0, 1.0, 5.0, 5.0)
    for lengths, closed in (({}, False), ({(0, "front"): 5}, False), ({(0, "front"): 6}, True)):
        files, _ = export(ExportFormat.CVAT, AnnotationSet([], [image], [box], video_lengths=lengths))
        text = files["episode_000000_front/annotations.xml"].decode()
        assert ('<box frame="5" keyframe="1" outside="1"' in text) is closed
        assert f"<size>{max(lengths.values(), default=5)}</size>" in text
        back = cvat_xml.read(files, lambda name: None)
        assert [replace(b, file_name="") for b in back.boxes] == [replace(box, file_name="")]


def test_cvat_frames_of_no_episode_are_written_as_cvat_for_images():
    plain = AnnotationSet(
        [LabelEntry("a")],
        [ImageEntry("dir/x.jpg", -1, "", -1, 10, 10)],
        [BoxEntry("dir/x.jpg", "a", 1, 1, 2, 2, "t", outside=True, source="MODEL", attributes={"k": 1})],
    )
    files, lost = export(ExportFormat.CVAT, plain)
    text = files["annotations.xml"].decode()
    assert (
        '<image id="0" name="dir/x.jpg" width="10" height="10">' in text and "<mode>annotation</mode>" in text
    )
    assert lost == [
        "track ids of 1 box (on images that are no episode's frame: CVAT for images)",
        "outside marks (the track left the view) of 1 box (on images that are no episode's frame)",
    ]
    back = cvat_xml.read(files, lambda name: None)
    assert back.images == plain.images
    assert back.boxes == [BoxEntry("dir/x.jpg", "a", 1.0, 1.0, 2.0, 2.0, source="MODEL", attributes={"k": 1})]


CVAT_TASK = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>12</id>
      <name>street</name>
      <size>20</size>
      <mode>interpolation</mode>
      <subset>Train</subset>
      <labels>
        <label>
          <name>car</name>
          <color>#33ddff</color>
          <type>any</type>
          <attributes>
            <attribute>
              <name>parked</name>
              <mutable>False</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false
true</values>
            </attribute>
            <attribute>
              <name>speed</name>
              <input_type>number</input_type>
              <values>0
100
1</values>
            </attribute>
            <attribute>
              <name>model</name>
              <input_type>select</input_type>
              <values>sedan
van</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>road</name>
          <type>polygon</type>
        </label>
        <label>
          <name>body</name>
          <type>skeleton</type>
        </label>
      </labels>
      <segments><segment><id>3</id><start>0</start><stop>19</stop><url>http://cvat/?id=3</url></segment></segments>
      <owner><username>ana</username><email></email></owner>
      <original_size>
        <width>100</width>
        <height>80</height>
      </original_size>
    </task>
    <dumped>2024-05-01 10:00:00.000000+00:00</dumped>
  </meta>
  <track id="0" label="car" source="semi-auto">
    <box frame="3" outside="0" occluded="1" keyframe="1" xtl="10.00" ytl="20.00" xbr="30.50" ybr="50.00" z_order="1">
      <attribute name="parked">true</attribute>
      <attribute name="speed">12</attribute>
      <attribute name="model">van</attribute>
    </box>
    <box frame="4" outside="0" occluded="0" keyframe="0" xtl="11.00" ytl="20.00" xbr="31.50" ybr="50.00" z_order="0"
         rotation="15.5">
      <attribute name="parked">false</attribute>
      <attribute name="speed">12.5</attribute>
      <attribute name="model">van</attribute>
    </box>
    <box frame="5" outside="1" occluded="0" keyframe="1" xtl="12.00" ytl="20.00" xbr="32.50" ybr="50.00" z_order="0">
    </box>
  </track>
  <track id="1" label="road" source="auto" group_id="2">
    <polygon frame="3" outside="0" occluded="0" keyframe="1" points="1.0,2.0;3.0,4.0;5.0,1.0" z_order="0"/>
    <polygon frame="4" outside="1" occluded="0" keyframe="1" points="1.0,2.0;3.0,4.0;5.0,1.0" z_order="0"/>
  </track>
  <track id="2" label="body" source="manual">
    <skeleton frame="3" keyframe="1" z_order="0">
      <points label="head" outside="0" occluded="0" keyframe="1" points="5.0,5.0"/>
      <points label="tail" outside="0" occluded="0" keyframe="1" points="9.0,9.0"/>
    </skeleton>
  </track>
  <track id="3" label="car" source="file" subset="Validation">
    <box frame="7" outside="0" occluded="0" keyframe="1" xtl="-3.00" ytl="0.00" xbr="20.00" ybr="81.00" z_order="0">
      <attribute name="custom">7</attribute>
    </box>
  </track>
</annotations>
"""


def test_cvat_video_as_cvat_exports_it_reads_with_types_sources_and_what_was_dropped():
    back = cvat_xml.read({"task_12/annotations.xml": CVAT_TASK.encode()}, lambda name: None)
    assert back.labels == [LabelEntry("car", "#33ddff")]
    name = "task_12/frame_{:06d}.jpg".format
    attributes = {"parked": True, "speed": 12, "model": "van"}
    assert back.boxes == [
        BoxEntry(
            name(3),
            "car",
            10.0,
            20.0,
            20.5,
            30.0,
            "0",
            occluded=True,
            source="MODEL",
            attributes=attributes,
            split="Train",
        ),
        BoxEntry(
            name(4),
            "car",
            11.0,
            20.0,
            20.5,
            30.0,
            "0",
            source="INTERPOLATED",
            keyframe=False,
            attributes={**attributes, "parked": False, "speed": 12.5},
            split="Train",
        ),
        BoxEntry(name(5), "car", 12.0, 20.0, 20.5, 30.0, "0", outside=True, source="MODEL", split="Train"),
        # Reaching past the image: clamped into it (100 x 80), and counted. An undeclared attribute is text.
        BoxEntry(
            name(7),
            "car",
            0.0,
            0.0,
            20.0,
            80.0,
            "3",
            source="IMPORTED",
            attributes={"custom": "7"},
            split="Validation",
        ),
    ]
    assert back.images[0] == ImageEntry(name(3), -1, "", 3, 100, 80)
    assert back.dropped == {
        "z_order": 1,
        "rotation": 1,
        "polygons": 2,
        "skeletons": 1,
        "clamped to the image": 1,
    }


CVAT_IMAGES = """<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>cat</name><attributes><attribute><name>age</name>
    <input_type>number</input_type></attribute></attributes></label></labels></task></meta>
  <image id="0" name="default/episode_000001_front_000010.jpg" width="64" height="48" subset="default">
    <box label="cat" source="auto" occluded="0" xtl="1.5" ytl="2" xbr="11.5" ybr="22" z_order="0">
      <attribute name="age">2.5</attribute>
    </box>
    <polyline label="cat" source="manual" occluded="0" points="1,1;2,2" z_order="0"/>
    <tag label="cat" source="manual"/>
    <mask label="cat" source="manual" occluded="0" rle="1, 2" left="0" top="0" width="1" height="3" z_order="0"/>
    <ellipse label="cat" source="manual" occluded="0" cx="5" cy="5" rx="2" ry="2" z_order="0"/>
    <cuboid label="cat" source="manual" occluded="0" xtl1="1" ytl1="1" xbl1="1" ybl1="2" xtr1="2" ytr1="1"
            xbr1="2" ybr1="2" xtl2="3" ytl2="1" xbl2="3" ybl2="2" xtr2="4" ytr2="1" xbr2="4" ybr2="2" z_order="0"/>
    <points label="cat" source="manual" occluded="0" points="3,3" z_order="0"/>
  </image>
  <image id="1" name="frame_000004" width="64" height="48">
    <box label="dog" occluded="1" xtl="0" ytl="0" xbr="64" ybr="48" group_id="3"/>
  </image>
  <image id="2" name="empty.png" width="20" height="10"/>
</annotations>
"""


def test_cvat_for_images_reads_frame_wise_boxes_and_counts_other_shapes():
    files = {"export/annotations.xml": CVAT_IMAGES.encode()}
    assert registry.detect_format(files) == ExportFormat.CVAT
    back = cvat_xml.read(files, lambda name: None)
    ours = "default/episode_000001_front_000010.jpg"
    assert back.images == [
        ImageEntry(ours, 1, "front", 10, 64, 48),
        ImageEntry("export/frame_000004.jpg", -1, "", 4, 64, 48),
        ImageEntry("empty.png", -1, "", -1, 20, 10),
    ]
    assert back.boxes == [
        BoxEntry(ours, "cat", 1.5, 2.0, 10.0, 20.0, source="MODEL", attributes={"age": 2.5}, split="default"),
        BoxEntry("export/frame_000004.jpg", "dog", 0.0, 0.0, 64.0, 48.0, occluded=True),
    ]
    assert back.labels == [LabelEntry("cat"), LabelEntry("dog")]
    assert back.dropped == {
        "polylines": 1,
        "tags": 1,
        "masks": 1,
        "ellipses": 1,
        "cuboids": 1,
        "points": 1,
        "groups": 1,
    }


def test_cvat_folders_name_frames_by_their_shortest_distinct_ending():
    assert folder_labels(["", "a/x", "b/x", "my export/episode_000001_front", "y"]) == {
        "": "",
        "a/x": "a/x",
        "b/x": "b/x",
        "my export/episode_000001_front": "episode_000001_front",
        "y": "y",
    }
    one = CVAT_TASK.encode()
    back = cvat_xml.read({"train/v/annotations.xml": one, "val/v/annotations.xml": one}, lambda name: None)
    assert (
        back.boxes[0].file_name == "train/v/frame_000003.jpg"
        and back.boxes[4].file_name == "val/v/frame_000003.jpg"
    )


BAD_CVAT = [
    (
        "<annotations><track id='0' label='a'><box frame='1' xtl='1' ytl='1' xbr='2' ybr='2'></track></annotations>",
        1,
        None,
        "not well-formed XML: mismatched tag",
    ),
    (
        '<?xml version="1.0"?>\n<!DOCTYPE annotations [<!ENTITY a "b">]>\n<annotations/>',
        2,
        None,
        "refused unsafe XML",
    ),
    ("<annotations>\n<track label='a'>\n</track></annotations>", 2, "track[1]", "<track> has no id"),
    ("<annotations>\n<track id='x' label='a'/></annotations>", 2, "track[1]", "id must be an integer"),
    (
        "<annotations><track id='0' label='a'>\n<box frame='1' xtl='1' ytl='1' xbr='2' ybr='2'/>\n"
        "<box frame='one' xtl='1' ytl='1' xbr='2' ybr='2'/></track></annotations>",
        3,
        "track[1]/box[2]",
        "frame must be an integer >= 0, got 'one'",
    ),
    (
        "<annotations><track id='0' label='a'>\n\n<box frame='1' xtl='1' ytl='y' xbr='2' ybr='2'/></track>"
        "</annotations>",
        3,
        "track[1]/box[1]",
        "ytl must be a number, got 'y'",
    ),
    (
        "<annotations><track id='0' label='a'>\n<box frame='1' xtl='5' ytl='1' xbr='2' ybr='2'/></track>"
        "</annotations>",
        2,
        "track[1]/box[1]",
        "width and height must be > 0",
    ),
    (
        "<annotations><track id='0' label='a'><box frame='1' xtl='1' ytl='1' xbr='2' ybr='2'/>\n"
        "<box frame='1' xtl='1' ytl='1' xbr='2' ybr='2'/></track></annotations>",
        2,
        "track[1]/box[2]",
        "track 0 has two boxes on frame 1",
    ),
    (
        "<annotations><track id='0' label='a'/>\n<track id='0' label='a'/></annotations>",
        2,
        "track[2]",
        "track 0 appears twice",
    ),
    (
        "<annotations><track id='0' label='a'>\n<box frame='1' keyframe='yes' xtl='1' ytl='1' xbr='2' ybr='2'/>"
        "</track></annotations>",
        2,
        "track[1]/box[1]",
        "keyframe must be 0 or 1, got 'yes'",
    ),
    (
        "<annotations>\n<image id='0' width='5' height='5'/></annotations>",
        2,
        "image[1]",
        "<image> has no name",
    ),
    (
        "<annotations>\n<image id='0' name='a.jpg' width='5' height='5'>\n<box label='a' xtl='1' ytl='1' ybr='2'/>"
        "</image></annotations>",
        3,
        "image[1]/box[1]",
        "<box> has no xbr",
    ),
    (
        "<annotations><image id='0' name='a.jpg' width='5' height='5'/>\n<image id='1' name='a.jpg' width='5' "
        "height='5'/></annotations>",
        2,
        "image[2]",
        "image 'a.jpg' is listed twice",
    ),
    (
        "<annotations><meta><task><original_size><width>0</width><height>5</height></original_size></task></meta>"
        "</annotations>",
        None,
        "meta/original_size/width",
        "<width> must be a positive integer, got '0'",
    ),
]


@pytest.mark.parametrize(("text", "line", "where", "reason"), BAD_CVAT)
def test_a_malformed_cvat_file_names_the_file_line_and_element(text, line, where, reason):
    size = None if "not known" in reason else (100, 80)
    with pytest.raises(FormatError) as caught:
        cvat_xml.read({"up/annotations.xml": text.encode()}, lambda name: size)
    error = caught.value
    assert (error.file, error.line, error.where) == ("up/annotations.xml", line, where), error
    assert reason in error.reason, error


def test_no_cvat_file_is_named_and_voc_is_not_taken_for_cvat():
    with pytest.raises(FormatError, match="no CVAT XML file"):
        cvat_xml.read({"a.xml": b"<annotation/>"}, lambda name: None)
    assert registry.detect_format({"a.xml": b"<annotation><object/></annotation>"}) == ExportFormat.VOC
    assert (
        registry.detect_format(
            {"task.xml": b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- x -->\n<annotations></annotations>'}
        )
        == ExportFormat.CVAT
    )


def test_cvat_writer_refuses_what_a_video_cannot_hold():
    data = tracked()
    data.boxes[1] = replace(data.boxes[1], label="cone")
    with pytest.raises(ValueError, match="track 'DET_PERSON_0001' has two labels"):
        export(ExportFormat.CVAT, data)
    data = tracked()
    data.images[1] = replace(data.images[1], width=65)
    with pytest.raises(ValueError, match="frames of episode 1 camera 'front' differ in size"):
        export(ExportFormat.CVAT, data)


# --- MOT 1.1 --------------------------------------------------------------------------------------------------


def test_the_mot_field_case_reads_frames_from_one_and_no_outside_after_the_last_row():
    files = field_case("mot")
    assert registry.detect_format(files) == ExportFormat.MOT
    back = mot.read(files, {"frame_000010.jpg": (100, 80), "frame_000011.jpg": (100, 80)}.get)
    assert back.labels == [LabelEntry("pedestrian")]
    # MOT's frame 11 is our frame 10.
    assert back.images == [
        ImageEntry("frame_000010.jpg", -1, "", 10, 100, 80),
        ImageEntry("frame_000011.jpg", -1, "", 11, 100, 80),
    ]
    assert back.boxes == [
        BoxEntry("frame_000010.jpg", "pedestrian", 10.0, 20.0, 20.0, 30.0, "1"),
        BoxEntry("frame_000011.jpg", "pedestrian", 12.0, 20.0, 20.0, 30.0, "1"),
    ]
    ours = mot.read(field_case("mot", "up/episode_000001_front/"), lambda name: (100, 80))
    assert ours.images[0] == ImageEntry("episode_000001_front/frame_000010.jpg", 1, "front", 10, 100, 80)


def test_mot_round_trips_what_it_can_carry_and_names_the_rest():
    data = tracked()
    files, lost = export(ExportFormat.MOT, data)
    assert sorted(files) == [
        f"episode_00000{i}/{name}"
        for i in ("1_front", "2_wrist")
        for name in ("gt/gt.txt", "gt/labels.txt", "seqinfo.ini")
    ]
    assert lost == [
        "sources (MANUAL/MODEL/INTERPOLATED) of 11 boxes",
        "colours of 2 labels",
        "custom attributes of 7 boxes (MOT has a column for none)",
        "splits (train / valid / ...) of 3 boxes (MOT has a column for none)",
        "track ids of 8 boxes (MOT numbers tracks: written as 1, 2, ...)",
        "keyframe flags (not a keyframe) of 1 box (every MOT row reads as a keyframe)",
        "outside marks (the track left the view) of 1 box (MOT has none: a gap in a track reads as one)",
        "outside marks added after 1 box (a gap in a track reads as leaving the view)",
    ]
    front = files["episode_000001_front/gt/gt.txt"].decode().splitlines()
    assert front[:3] == [
        "1,1,10.0,5.0,20.0,30.0,1,1,1.0",
        "2,1,11.0,5.5,20.0,30.0,1,1,1.0",
        "2,2,0.30000000000000004,0.0,10.7,12.3,1,2,1.0",
    ]
    assert "3,1,12.0,6.0,20.0,30.0,1,1,1.0" in front and "3,-1,1.0,2.0,3.0,4.0,1,2,1.0" in front
    assert "7,1,30.5,6.0,20.0,30.0,1,1,0.0" in front and not any(
        row.startswith(("4,", "10,1,")) for row in front
    )
    assert files["episode_000001_front/gt/labels.txt"] == b"person\ncone\n"
    assert files["episode_000001_front/seqinfo.ini"].decode().splitlines() == [
        "[Sequence]",
        "name=episode_000001_front",
        "imDir=img1",
        "frameRate=30",
        "seqLength=10",
        "imWidth=64",
        "imHeight=48",
        "imExt=.jpg",
    ]
    back = mot.read(files, lambda name: None)  # sizes from seqinfo.ini
    numbers = {"DET_PERSON_0001": "1", "cone-7": "2", "7": "7", "12": "12"}
    expected = []
    for b in data.boxes:
        if b.outside and b.file_name != data.images[3].file_name:
            continue  # the track's last outside mark: MOT ends a track at its last row
        expected.append(
            BoxEntry(
                b.file_name,
                b.label,
                b.x,
                b.y,
                b.width,
                b.height,
                numbers.get(b.track_id or ""),
                occluded=b.occluded,
                outside=b.outside,
            )
        )
    # The gap in the cone track (frames 1 -> 5) reads as the cone leaving the view on frame 2.
    expected.append(BoxEntry(data.images[2].file_name, "cone", 0.1 + 0.2, 0.0, 10.7, 12.3, "2", outside=True))
    assert_same_boxes(back, replace(data, boxes=expected), tolerance=0.0)
    assert back.labels == [LabelEntry("person"), LabelEntry("cone")]


def test_mot_keeps_whole_number_track_ids_crowd_and_occlusion():
    images = [frame(0, "side", f) for f in (0, 1, 2, 3)]
    boxes = [
        BoxEntry(images[0].file_name, "a", 1.0, 2.0, 3.0, 4.0, "5", occluded=True),
        BoxEntry(images[1].file_name, "a", 1.0, 2.0, 3.0, 4.0, "5", occluded=True, outside=True),
        BoxEntry(images[3].file_name, "a", 2.0, 2.0, 3.0, 4.0, "5"),
        BoxEntry(images[2].file_name, "b", 0.0, 0.0, 64.0, 48.0, crowd=True),
    ]
    data = AnnotationSet([LabelEntry("a"), LabelEntry("b")], images, boxes)
    files, lost = export(ExportFormat.MOT, data)
    assert lost == []
    assert files["episode_000000_side/gt/gt.txt"] == (
        b"1,5,1.0,2.0,3.0,4.0,1,1,0.0\n3,-1,0.0,0.0,64.0,48.0,0,2,1.0\n4,5,2.0,2.0,3.0,4.0,1,1,1.0\n"
    )
    back = mot.read(files, lambda name: None)
    # The outside mark is the box before the gap, as it was written: exactly the same.
    assert_same_boxes(back, data, tolerance=0.0)


def test_mot_from_other_tools_reads_defaults_gaps_and_clamps():
    rows = (
        "1, 3, -4, 10, 20, 20, 1, 2, 0.4\n"  # visible enough; reaches 4 px left of the image: clamped
        "4.0,3,0,10,20,20,1,2,0\n"  # after a gap; invisible: occluded
        "\n"
        "2,-1,5,5,5,5,0,8\n"  # no track, ignored (a crowd region), no visibility column
        "2,0,6,6,5,5\n"
    )  # no track; 6 columns: every default
    with pytest.raises(FormatError) as caught:
        mot.read({"seq/gt/gt.txt": rows.encode()}, lambda name: (100, 50))
    assert (caught.value.file, caught.value.line) == ("seq/gt/gt.txt", 5)
    assert "names no class" in caught.value.reason
    back = mot.read({"seq/gt/gt.txt": rows.rsplit("2,0", 1)[0].encode()}, lambda name: (100, 50))
    name = "seq/frame_{:06d}.jpg".format
    assert back.labels == [LabelEntry("person on vehicle"), LabelEntry("distractor")]  # MOT's own classes
    assert back.boxes == [
        BoxEntry(name(0), "person on vehicle", 0.0, 10.0, 16.0, 20.0, "3"),
        BoxEntry(name(1), "person on vehicle", 0.0, 10.0, 16.0, 20.0, "3", outside=True),
        BoxEntry(name(1), "distractor", 5.0, 5.0, 5.0, 5.0, crowd=True),
        BoxEntry(name(3), "person on vehicle", 0.0, 10.0, 20.0, 20.0, "3", occluded=True),
    ]
    assert back.dropped == {"clamped to the image": 1}
    assert [m.file_name for m in back.images] == [name(0), name(3), name(1)]


BAD_MOT = [
    ("1,1,1,1,2,2,1,1,1\n1,1,1,1\n", 2, "expected comma-separated frame,track,x,y,w,h"),
    ("0,1,1,1,2,2,1,1,1\n", 1, "frame must be >= 1 (MOT counts from 1), got 0"),
    ("1,1.5,1,1,2,2,1,1,1\n", 1, "track id must be a whole number, got '1.5'"),
    ("1,1,one,1,2,2,1,1,1\n", 1, "x must be a number, got 'one'"),
    ("\n1,1,1,1,2,2,1,3,1\n", 2, "class 3 is not in 1..2 (gt/labels.txt)"),
    ("1,1,1,1,2,2,1,-1,1\n", 1, "the row names no class"),
    ("1,1,1,1,2,2,1,1,1\n1,1,1,1,2,2,1,1,1\n", 2, "track 1 has two rows on frame 1"),
    ("1,1,1,1,0,2,1,1,1\n", 1, "width and height must be > 0"),
    ("1,1,1,1,2,2,1,1,x\n", 1, "visibility must be a number, got 'x'"),
    ("1,1,200,1,2,2,1,1,1\n", 1, "once clamped into the image"),
]


@pytest.mark.parametrize(("rows", "line", "reason"), BAD_MOT)
def test_a_malformed_mot_file_names_the_file_and_line(rows, line, reason):
    files = {"v/gt/gt.txt": rows.encode(), "v/gt/labels.txt": b"a\nb\n"}
    with pytest.raises(FormatError) as caught:
        mot.read(files, lambda name: (100, 50))
    assert (caught.value.file, caught.value.line) == ("v/gt/gt.txt", line), caught.value
    assert reason in caught.value.reason, caught.value


def test_frames_of_unknown_size_read_as_0_by_0_for_the_import_to_check():
    """Without <original_size> / seqinfo.ini and a frame the name mapping places, the size is unknown:
    the box is read as written and its image is 0 x 0; the import checks it against the frame the name
    maps to, or lists the name as unmatched."""
    cvat = cvat_xml.read(
        {
            "annotations.xml": b"<annotations><track id='0' label='a'><box frame='1' xtl='1' ytl='1' xbr='2' "
            b"ybr='4'/></track></annotations>"
        },
        lambda name: None,
    )
    assert [(m.file_name, m.width, m.height) for m in cvat.images] == [("frame_000001.jpg", 0, 0)]
    assert [(b.x, b.y, b.width, b.height) for b in cvat.boxes if not b.outside] == [(1.0, 1.0, 1.0, 3.0)]
    data = mot.read({"gt/gt.txt": b"3,1,1,1,2,2,1,1,1\n"}, lambda name: None)
    assert [(m.file_name, m.frame, m.width) for m in data.images] == [("frame_000002.jpg", 2, 0)]
    assert [(b.x, b.y, b.width, b.height) for b in data.boxes] == [(1.0, 1.0, 2.0, 2.0)]


def test_mot_without_classes_or_with_a_bad_seqinfo_says_so():
    with pytest.raises(FormatError, match="no class names"):
        mot.read({"gt/gt.txt": b"1,1,1,1,2,2,1,1,1\n", "gt/labels.txt": b"\n"}, lambda name: (9, 9))
    with pytest.raises(FormatError) as caught:
        mot.read(
            {"gt/gt.txt": b"1,1,1,1,2,2,1,1,1\n", "seqinfo.ini": b"[Sequence]\nimWidth=wide\nimHeight=5\n"},
            lambda name: None,
        )
    assert (caught.value.file, caught.value.line) == ("seqinfo.ini", 2)


def test_images_go_where_cvat_and_mot_keep_a_videos_frames():
    data = tracked()
    data.images.append(ImageEntry("dir/x.jpg", -1, "", -1, 10, 10))
    cvat = [(m.file_name, path) for m, path in cvat_xml.image_paths(data)]
    assert cvat[0] == (data.images[0].file_name, "episode_000001_front/images/frame_000000.jpg")
    assert cvat[-1] == ("dir/x.jpg", "images/dir/x.jpg")
    paths = [(m.file_name, path) for m, path in mot.image_paths(data)]
    assert paths[1] == (data.images[1].file_name, "episode_000001_front/img1/000002.jpg")
    assert paths[-1] == ("dir/x.jpg", "img1/000001.jpg")
    assert len(paths) == len(cvat) == len(data.images)


# --- Both -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [ExportFormat.CVAT, ExportFormat.MOT])
def test_100000_tracked_boxes_write_and_read_back(fmt):
    images = [
        ImageEntry(image_file_name(e, "front", f), e, "front", f, 320, 240)
        for e in range(10)
        for f in range(1000)
    ]
    boxes = [
        BoxEntry(m.file_name, ("a", "b")[k % 2], 10.5 + k, 20.25, 30.0, 40.0, str(k + 1), source="MANUAL")
        for m in images
        for k in range(10)
    ]
    data = AnnotationSet([LabelEntry("a"), LabelEntry("b")], images, boxes)
    files, _ = export(fmt, data)  # speed: bench/
    back = registry.reader(fmt).read(files, lambda name: None)
    source = "MANUAL" if fmt == ExportFormat.CVAT else "IMPORTED"
    assert_same_boxes(back, replace(data, boxes=[replace(b, source=source) for b in boxes]), tolerance=0.0)
