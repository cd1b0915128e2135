"""Writing CVAT's XML: CVAT for video 1.1 (tracks), and CVAT for images 1.1 for images that are no
episode's frame; where an export with images puts each image (image_paths).

Writing. One `episode_<index:06d>_<camera>/annotations.xml` per video (video_layout.py), laid out as CVAT
exports a task in interpolation mode: `<version>1.1</version>`, a `<meta><task>` with the task's name,
size (frames), mode, start/stop frame, `<subset>` (when the boxes have a split), `<labels>` (name, colour,
type, declared attributes) and `<original_size>`, then one `<track id label source>` per track with a
`<box frame keyframe outside occluded xtl ytl xbr ybr z_order>` per box and its custom attributes as
`<attribute name="...">value</attribute>`. Corners are continuous pixels: xtl = x, xbr = x + width,
written with every digit a float has (CVAT writes 2 decimals; more read the same).

- Tracks keep their ids when every id of the video is a whole number (CVAT numbers tracks); otherwise they
  are numbered 0, 1, ... in order of their first frame and `<meta><annograph_tracks><named id="0">` gives
  each number our id back. A box without a track becomes a one-box track, as CVAT's own video export makes
  of a shape, closed by an outside keyframe on the next frame when the video has one; `<untracked id>`
  lists those numbers, so reading gives the box back without a track (CVAT and datumaro ignore the block).
- A track's `source` is its keyframes' (the commonest of MANUAL -> manual, MODEL -> auto, IMPORTED ->
  file); reading gives keyframes the track's source and other boxes INTERPOLATED (CVAT fills the frames
  between keyframes), and the fidelity report counts the boxes whose source does not come back.
- Attributes are declared on their label in the meta: all true/false -> checkbox, all numbers -> number,
  anything else -> text; values come back with the declared type (a number written as text comes back as
  text, which the report counts).
- Images that are no episode's frame go in a root `annotations.xml` as CVAT for images writes them
  (`<image id name width height>` with `<box label source occluded ...>`), where tracks, keyframes and
  outside marks have no place.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from domain.objects.transfer.formats.cvat_xml_common import FILE, IMAGE_DIR, OURS, READ_SOURCES
from domain.objects.transfer.formats.model import (
    DEFAULT_COLOR,
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    Fidelity,
    ImageEntry,
    TransferOptions,
    class_names,
    lost_details,
)
from domain.objects.transfer.formats.video_layout import Video, folder_name, in_video, videos

CARRIED = {"track_id", "occluded", "outside", "keyframe", "source", "attributes", "split", "label_color"}
WRITE_SOURCES = {"MANUAL": "manual", "MODEL": "auto", "IMPORTED": "file"}
_WHOLE = re.compile(r"^(0|[1-9][0-9]*)$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def image_paths(data: AnnotationSet) -> Iterator[tuple[ImageEntry, str]]:
    """Where an export with images puts each image: an episode's frame beside its video's annotations.xml as
    CVAT does (episode_000001_front/images/frame_000010.jpg), any other in images/ under its own name."""
    for image in data.images:
        if in_video(image):
            folder = folder_name(image.episode_index, image.camera)
            yield image, f"{folder}/{IMAGE_DIR}/frame_{image.frame:06d}.jpg"
        else:
            yield image, f"{IMAGE_DIR}/{image.file_name}"


@dataclass
class _Writing:
    """What every file of one export shares, and what the export could not carry, counted."""

    names: list[str]
    colors: dict[str, str]
    declared: dict[str, dict[str, str]]  # label -> attribute -> checkbox | number | text
    numbers: dict[tuple[str, str], list[float]]  # (label, attribute) -> number values, for the meta
    lost: Counter = field(default_factory=Counter)


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    found, others, other_boxes = videos(data)
    declared, numbers, retyped = _declarations(data.boxes)
    colors = {label.name: label.color for label in data.labels}
    writing = _Writing(class_names(data), colors, declared, numbers)
    writing.lost["attribute types"] = retyped
    name = str(data.dataset.get("name") or "annograph")
    for number, video in enumerate(found, 1):
        add(f"{video.folder}/{FILE}", _video_file(video, number, writing))
    if others:
        add(FILE, _images_file(name, others, other_boxes, writing))
    lost = lost_details(data, CARRIED)
    why = {
        "source": ("sources", "a track has one: its keyframes' commonest; the others read as INTERPOLATED"),
        "split": ("splits (train / valid / ...)", "a video has one subset"),
        "attribute types": ("custom attribute types", "numbers or true/false among text are written as text"),
        "track_id": ("track ids", "on images that are no episode's frame: CVAT for images"),
        "outside": ("outside marks (the track left the view)", "on images that are no episode's frame"),
        "keyframe": ("keyframe flags (not a keyframe)", "on images that are no episode's frame"),
    }
    for key, (noun, reason) in why.items():
        n = writing.lost[key]
        if n:
            lost.append(f"{noun} of {_boxes(n)} ({reason})")
    if writing.lost["characters"]:
        lost.append(f"characters XML cannot hold: {writing.lost['characters']:,} (written as U+FFFD)")
    return Fidelity(ExportFormat.CVAT, lost)


def _boxes(n: int) -> str:
    return f"{n:,} box" if n == 1 else f"{n:,} boxes"


def _kind(value: object) -> str:
    if type(value) is bool:
        return "checkbox"
    return "number" if type(value) in (int, float) else "text"


def _declarations(
    boxes: list[BoxEntry],
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[float]], int]:
    """Each label's attributes with the input type their values share (text when they differ), the number
    values of number attributes, and how many boxes have a value the declared type does not carry."""
    kinds: dict[str, dict[str, set[str]]] = {}
    numbers: dict[tuple[str, str], list[float]] = {}
    for b in boxes:
        if b.attributes:
            label = kinds.setdefault(b.label, {})
            for key, value in b.attributes.items():
                kind = _kind(value)
                label.setdefault(key, set()).add(kind)
                if kind == "number":
                    numbers.setdefault((b.label, key), []).append(value)  # type: ignore[arg-type]
    declared = {
        label: {key: next(iter(k)) if len(k) == 1 else "text" for key, k in attributes.items()}
        for label, attributes in kinds.items()
    }
    retyped = sum(
        1
        for b in boxes
        if b.attributes
        and any(declared[b.label][k] != _kind(v) for k, v in b.attributes.items() if type(v) is not str)
    )
    return declared, numbers, retyped


def _number(value: float) -> str:
    """A coordinate or number with every digit it has (read back to the same float)."""
    return repr(value) if type(value) is int else repr(float(value))


def _clean(text: str, writing: _Writing) -> str:
    if _NOT_XML.search(text):
        writing.lost["characters"] += len(_NOT_XML.findall(text))
        text = _NOT_XML.sub("\ufffd", text)
    return text


def _text(text: str, writing: _Writing) -> str:
    return escape(_clean(text, writing))


def _attr(text: str, writing: _Writing) -> str:
    return escape(_clean(text, writing), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _value(value: object) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    return _number(value) if type(value) in (int, float) else str(value)  # type: ignore[arg-type]


def _meta(
    writing: _Writing,
    number: int,
    name: str,
    mode: str,
    size: int,
    split: str | None,
    original: tuple[int, int] | None,
    ours: list[str],
) -> list[str]:
    """CVAT's <meta> for a task: its fields in CVAT's order, the labels with their attributes, the original
    (video) size, then the lines of our block."""
    lines = [
        "  <meta>\n",
        "    <task>\n",
        f"      <id>{number}</id>\n",
        f"      <name>{_text(name, writing)}</name>\n",
        f"      <size>{size}</size>\n",
        f"      <mode>{mode}</mode>\n",
        "      <overlap>0</overlap>\n",
        "      <bugtracker></bugtracker>\n",
    ]
    if split is not None:
        lines.append(f"      <subset>{_text(split, writing)}</subset>\n")
    lines += [
        "      <start_frame>0</start_frame>\n",
        f"      <stop_frame>{max(size - 1, 0)}</stop_frame>\n",
        "      <frame_filter></frame_filter>\n",
        "      <labels>\n",
    ]
    for label in writing.names:
        lines += [
            "        <label>\n",
            f"          <name>{_text(label, writing)}</name>\n",
            f"          <color>{writing.colors.get(label, DEFAULT_COLOR)}</color>\n",
            "          <type>rectangle</type>\n",
            "          <attributes>\n",
        ]
        for key, kind in writing.declared.get(label, {}).items():
            if kind == "checkbox":
                default, values = "false", "false\ntrue"
            elif kind == "number":
                found = writing.numbers[(label, key)]
                whole = all(float(v).is_integer() for v in found)
                low, high = (int(min(found)), int(max(found))) if whole else (min(found), max(found))
                default, values = _number(low), f"{_number(low)}\n{_number(high)}\n{1 if whole else 0.01}"
            else:
                default, values = "", ""
            lines += [
                "            <attribute>\n",
                f"              <name>{_text(key, writing)}</name>\n",
                "              <mutable>True</mutable>\n",
                f"              <input_type>{kind}</input_type>\n",
                f"              <default_value>{default}</default_value>\n",
                f"              <values>{values}</values>\n",
                "            </attribute>\n",
            ]
        lines += ["          </attributes>\n", "        </label>\n"]
    lines.append("      </labels>\n")
    if original is not None:
        lines += [
            "      <original_size>\n",
            f"        <width>{original[0]}</width>\n",
            f"        <height>{original[1]}</height>\n",
            "      </original_size>\n",
        ]
    return [*lines, "    </task>\n", *ours, "  </meta>\n"]


def _split_of(boxes: list[BoxEntry], writing: _Writing) -> str | None:
    """The subset a file of these boxes names: their commonest split (the others are counted as lost)."""
    counts = Counter(b.split for b in boxes)
    split = max(counts, key=lambda s: (counts[s], s is None)) if counts else None
    writing.lost["split"] += len(boxes) - counts[split]
    return split


def _track_source(boxes: list[BoxEntry]) -> str:
    counts = Counter(b.source for b in boxes if b.keyframe and b.source in WRITE_SOURCES)
    if not counts:
        return "manual"
    best = max(counts.values())
    return WRITE_SOURCES[next(s for s in WRITE_SOURCES if counts[s] == best)]


def _box_lines(b: BoxEntry, frame: int, keyframe: bool, outside: bool, writing: _Writing) -> list[str]:
    x, y = float(b.x), float(b.y)
    head = (
        f'    <box frame="{frame}" keyframe="{int(keyframe)}" outside="{int(outside)}" '
        f'occluded="{int(b.occluded)}" xtl="{_number(x)}" ytl="{_number(y)}" '
        f'xbr="{_number(x + b.width)}" ybr="{_number(y + b.height)}" z_order="0">'
    )
    if not b.attributes:
        return [head, "</box>\n"]
    lines = [head, "\n"]
    for key, value in b.attributes.items():
        lines.append(
            f'      <attribute name="{_attr(key, writing)}">{_text(_value(value), writing)}</attribute>\n'
        )
    lines.append("    </box>\n")
    return lines


def _video_file(video: Video, number: int, writing: _Writing) -> bytes:
    frames = video.frames
    order = sorted(range(len(video.boxes)), key=lambda i: (frames[video.boxes[i].file_name], i))
    tracks: dict[str, list[BoxEntry]] = {}
    untracked: list[BoxEntry] = []
    for i in order:
        b = video.boxes[i]
        if b.track_id is None:
            untracked.append(b)
        else:
            tracks.setdefault(b.track_id, []).append(b)
    ids = list(tracks)
    named = not all(_WHOLE.match(t) for t in ids)
    numbers = {t: i for i, t in enumerate(ids)} if named else {t: int(t) for t in ids}
    first_free = max(numbers.values(), default=-1) + 1
    split = _split_of(video.boxes, writing)
    ours = []
    if named or untracked:
        ours.append(f"    <{OURS}>\n")
        if named:
            ours += [f'      <named id="{numbers[t]}">{_text(t, writing)}</named>\n' for t in ids]
        ours += [f'      <untracked id="{first_free + i}"/>\n' for i in range(len(untracked))]
        ours.append(f"    </{OURS}>\n")
    lines = ['<?xml version="1.0" encoding="utf-8"?>\n', "<annotations>\n", "  <version>1.1</version>\n"]
    original = (video.width, video.height)
    lines += _meta(writing, number, video.folder, "interpolation", video.length, split, original, ours)
    numbered = [(numbers[t], boxes, False) for t, boxes in tracks.items()]
    numbered += [(first_free + i, [b], True) for i, b in enumerate(untracked)]  # one-box tracks
    for track_number, boxes, alone in numbered:
        label = boxes[0].label
        source = _track_source(boxes)
        seen: set[int] = set()
        lines.append(f'  <track id="{track_number}" label="{_attr(label, writing)}" source="{source}">\n')
        for b in boxes:
            frame = frames[b.file_name]
            if b.label != label:
                raise ValueError(f"track {b.track_id!r} has two labels ({label!r}, {b.label!r})")
            if frame in seen:
                raise ValueError(f"track {b.track_id!r} has two boxes on frame {frame}")
            seen.add(frame)
            expected = READ_SOURCES[source] if b.keyframe else "INTERPOLATED"
            writing.lost["source"] += b.source != expected
            lines += _box_lines(b, frame, b.keyframe, b.outside, writing)
        if alone and not boxes[0].outside and frames[boxes[0].file_name] + 1 < video.length:
            # As CVAT closes a shape it exports as a track: out of view from the next frame.
            lines += _box_lines(boxes[0], frames[boxes[0].file_name] + 1, True, True, writing)
        lines.append("  </track>\n")
    lines.append("</annotations>\n")
    return "".join(lines).encode()


def _images_file(
    name: str, images: list[ImageEntry], boxes: dict[str, list[BoxEntry]], writing: _Writing
) -> bytes:
    every = [b for image in images for b in boxes.get(image.file_name, ())]
    split = _split_of(every, writing)
    lines = ['<?xml version="1.0" encoding="utf-8"?>\n', "<annotations>\n", "  <version>1.1</version>\n"]
    lines += _meta(writing, 0, name, "annotation", len(images), split, None, [])
    for i, image in enumerate(images):
        lines.append(
            f'  <image id="{i}" name="{_attr(image.file_name, writing)}" width="{image.width}" '
            f'height="{image.height}">\n'
        )
        for b in boxes.get(image.file_name, ()):
            source = WRITE_SOURCES.get(b.source, "manual")
            writing.lost["source"] += b.source != READ_SOURCES[source]
            writing.lost["track_id"] += b.track_id is not None
            writing.lost["outside"] += b.outside
            writing.lost["keyframe"] += not b.keyframe
            x, y = float(b.x), float(b.y)
            head = (
                f'    <box label="{_attr(b.label, writing)}" source="{source}" occluded="{int(b.occluded)}" '
                f'xtl="{_number(x)}" ytl="{_number(y)}" xbr="{_number(x + b.width)}" '
                f'ybr="{_number(y + b.height)}" z_order="0">'
            )
            lines.append(head)
            if b.attributes:
                lines.append("\n")
                for key, value in b.attributes.items():
                    lines.append(
                        f'      <attribute name="{_attr(key, writing)}">{_text(_value(value), writing)}'
                        "</attribute>\n"
                    )
                lines.append("    ")
            lines.append("</box>\n")
        lines.append("  </image>\n")
    lines.append("</annotations>\n")
    return "".join(lines).encode()
