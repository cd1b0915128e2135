"""MOT 1.1 as CVAT and datumaro write it (datumaro's `mot_seq_gt`), one sequence per video.

    episode_<index:06d>_<camera>/gt/gt.txt      frame,track,x,y,w,h,not_ignored,class,visibility per box
    episode_<index:06d>_<camera>/gt/labels.txt  the class names, one a line
    episode_<index:06d>_<camera>/seqinfo.ini    [Sequence] name, imDir, frameRate, seqLength, imWidth, ...

Frames are 1-based in gt.txt (annograph's frame 10 is row frame 11), classes 1-based into labels.txt, x, y,
w, h pixels as BoxEntry holds them (written with every digit a float has). A track is a whole number > 0;
-1 marks a box without one. `not_ignored` is 0 for a crowd region (MOT's ignored regions are what COCO
calls crowd: evaluation counts a detection on one neither way) and 1 otherwise. visibility is 0.0 for an
occluded box and 1.0 otherwise; reading, a box is occluded when its visibility is 0 (datumaro's threshold,
which CVAT's MOT import uses). seqinfo.ini carries the frame size (without it `size_of` must know it).

Tracks, keyframes and outside marks. MOT has rows for the frames an object is seen and nothing else, so
reading follows CVAT's MOT import:
- every row is a visible keyframe (source IMPORTED: MOT has no sources);
- a gap in a track's frames ends a segment: the frame after the last row before the gap gets an outside
  keyframe, a copy of that row (CVAT's rule); the track comes back into view at its next row;
- after a track's last row nothing is added (CVAT adds an outside keyframe when the video goes on; an
  annograph track ends at its last box anyway, and the reader does not know where the video ends).
Writing is the other way round: a row per box that is not outside; outside boxes are written as the
absence of rows. So an outside keyframe comes back exactly when it lies on the frame after a visible box
(with that box's geometry) and the track is seen again later; the fidelity report counts the others, the
outside marks a gap will add, non-keyframes (read back as keyframes), and track ids that are not whole
numbers (the tracks of such a video are numbered 1, 2, ... in order of their first frame).

Images that are no episode's frame are written as one sequence at the root, numbered in their order.
Reading: a `gt/gt.txt` anywhere; its sequence's folder names the frames (video_layout.py). Without
gt/labels.txt the classes are MOT's own (pedestrian, person on vehicle, car, ...), as datumaro reads them.
Errors name the file and line.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    Fidelity,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    checked_box,
    class_names,
    lost_details,
    members,
)
from domain.objects.transfer.formats.video_layout import (
    Video,
    folder_labels,
    folder_name,
    frame_file_name,
    frame_image,
    in_video,
    videos,
)

IMAGE_DIR = "img1"
GT_FILE = "gt/gt.txt"
LABELS_FILE = "gt/labels.txt"
SEQINFO_FILE = "seqinfo.ini"
CARRIED = {"track_id", "occluded", "outside", "keyframe", "crowd"}
# Counted here rather than by lost_details, in MOT's words (attributes and splits have no column either).
_COUNTED = {"attributes", "split"}
SLACK = 1.0  # pixels past the image that rounding explains; more is clamped and counted
# MOT's own classes, in class-id order: what datumaro reads when gt/labels.txt is missing.
MOT_CLASSES = (
    "pedestrian",
    "person on vehicle",
    "car",
    "bicycle",
    "motorbike",
    "non motorized vehicle",
    "static person",
    "distractor",
    "occluder",
    "occluder on the ground",
    "occluder full",
    "reflection",
)
_WHOLE = re.compile(r"^[1-9][0-9]*$")


def image_paths(data: AnnotationSet) -> Iterator[tuple[ImageEntry, str]]:
    """Where an export with images puts each image: its sequence's img1/<1-based frame>.jpg (the frames of no
    episode in the root sequence, numbered in their order)."""
    others = 0
    for image in data.images:
        if in_video(image):
            folder = folder_name(image.episode_index, image.camera)
            yield image, f"{folder}/{IMAGE_DIR}/{image.frame + 1:06d}.jpg"
        else:
            others += 1
            yield image, f"{IMAGE_DIR}/{others:06d}.jpg"


# --- Writing ---------------------------------------------------------------------------------------------


def _boxes(n: int) -> str:
    return f"{n:,} box" if n == 1 else f"{n:,} boxes"


def _number(value: float) -> str:
    return repr(value) if type(value) is int else repr(float(value))


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    found, others, other_boxes = videos(data)
    names = class_names(data)
    classes = {name: i for i, name in enumerate(names, 1)}
    labels = "".join(f"{name}\n" for name in names).encode()
    fps = data.dataset.get("fps")
    rate = max(1, round(fps)) if isinstance(fps, int | float) and math.isfinite(fps) and fps > 0 else 30
    lost: Counter = Counter()
    if others:
        # Frames of no episode: one sequence at the root, numbered in their order.
        root = Video("", others[0].width, others[0].height, length=len(others))
        for i, image in enumerate(others):
            root.frames[image.file_name] = i
            root.images.append(image)
            root.boxes += other_boxes.get(image.file_name, [])
        found = [*found, root]
    for video in found:
        prefix = f"{video.folder}/" if video.folder else ""
        add(prefix + GT_FILE, _rows(video, classes, lost))
        add(prefix + LABELS_FILE, labels)
        if all((m.width, m.height) == (video.width, video.height) for m in video.images):
            add(prefix + SEQINFO_FILE, _seqinfo(video, rate))
    report = lost_details(data, CARRIED | _COUNTED)
    lost["attributes"] = sum(1 for b in data.boxes if b.attributes)
    lost["split"] = sum(1 for b in data.boxes if b.split is not None)
    why = {
        "attributes": ("custom attributes", "MOT has a column for none"),
        "split": ("splits (train / valid / ...)", "MOT has a column for none"),
        "track_id": ("track ids", "MOT numbers tracks: written as 1, 2, ..."),
        "keyframe": ("keyframe flags (not a keyframe)", "every MOT row reads as a keyframe"),
        "outside": ("outside marks (the track left the view)", "MOT has none: a gap in a track reads as one"),
    }
    for key, (noun, reason) in why.items():
        if lost[key]:
            report.append(f"{noun} of {_boxes(lost[key])} ({reason})")
    if lost["added"]:
        report.append(
            f"outside marks added after {_boxes(lost['added'])} (a gap in a track reads as leaving the view)"
        )
    return Fidelity(ExportFormat.MOT, report)


def _seqinfo(video: Video, rate: int) -> bytes:
    return (
        "[Sequence]\n"
        f"name={video.folder or 'default'}\n"
        f"imDir={IMAGE_DIR}\n"
        f"frameRate={rate}\n"
        f"seqLength={video.length}\n"
        f"imWidth={video.width}\n"
        f"imHeight={video.height}\n"
        "imExt=.jpg\n"
    ).encode()


def _rows(video: Video, classes: dict[str, int], lost: Counter) -> bytes:
    frames = video.frames
    order = sorted(range(len(video.boxes)), key=lambda i: (frames[video.boxes[i].file_name], i))
    tracks: dict[str, list[BoxEntry]] = {}
    for i in order:
        b = video.boxes[i]
        if b.track_id is not None:
            tracks.setdefault(b.track_id, []).append(b)
    keep = all(_WHOLE.match(t) for t in tracks)
    numbers = {t: int(t) if keep else n for n, t in enumerate(tracks, 1)}
    for track, boxes in tracks.items():
        lost["track_id"] += len(boxes) * (str(numbers[track]) != track)
        _outside_fidelity(boxes, frames, lost)
    lines = []
    for i in order:
        b = video.boxes[i]
        if b.outside:
            lost["outside"] += b.track_id is None
            continue
        lost["keyframe"] += not b.keyframe
        mot_track = numbers[b.track_id] if b.track_id is not None else -1
        lines.append(
            f"{frames[b.file_name] + 1},{mot_track},{_number(b.x)},{_number(b.y)},{_number(b.width)},"
            f"{_number(b.height)},{0 if b.crowd else 1},{classes[b.label]},{'0.0' if b.occluded else '1.0'}\n"
        )
    return "".join(lines).encode()


def _outside_fidelity(boxes: list[BoxEntry], frames: dict[str, int], lost: Counter) -> None:
    """Count a track's outside boxes that reading will not give back as they are, and those it will add."""
    seen = [b for b in boxes if not b.outside]
    made = {
        frames[a.file_name] + 1: a
        for a, b in zip(seen, seen[1:], strict=False)
        if frames[b.file_name] - frames[a.file_name] > 1
    }
    for b in boxes:
        if b.outside:
            copy = made.pop(frames[b.file_name], None)
            same = copy is not None and (copy.x, copy.y, copy.width, copy.height, copy.occluded) == (
                b.x,
                b.y,
                b.width,
                b.height,
                b.occluded,
            )
            lost["outside"] += not same
    lost["added"] += len(made)


# --- Reading ---------------------------------------------------------------------------------------------


def find(files: Mapping[str, bytes]) -> list[str]:
    """The gt/gt.txt files among `files` (one per sequence)."""
    return [p for p in members(files, ".txt") if p.replace("\\", "/").lower().endswith(GT_FILE)]


class _Row(NamedTuple):
    frame: int  # 0-based
    track: int  # <= 0: none
    box: BoxEntry
    line: int


def _text(file: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _whole(text: str, what: str, file: str, line: int) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise FormatError(file, f"{what} must be a whole number, got {text!r}", line=line)
    return int(value)


def _real(text: str, what: str, file: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FormatError(file, f"{what} must be a number, got {text!r}", line=line)
    return value


def _seqinfo_size(file: str, content: bytes) -> tuple[int, int] | None:
    values: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(_text(file, content).splitlines(), 1):
        key, sep, text = line.partition("=")
        if sep:
            values[key.strip().lower()] = (text.strip(), number)
    size = []
    for key in ("imwidth", "imheight"):
        if key not in values:
            return None
        text, number = values[key]
        pixels = _whole(text, key, file, number)
        if pixels <= 0:
            raise FormatError(file, f"{key} must be > 0, got {text!r}", line=number)
        size.append(pixels)
    return size[0], size[1]


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    paths = find(files)
    if not paths:
        raise FormatError(GT_FILE, "no MOT ground truth (gt/gt.txt)")
    roots = {p: p.replace("\\", "/")[: -len(GT_FILE)].rstrip("/") for p in paths}
    labels = folder_labels(roots.values())
    by_path = {p.replace("\\", "/"): p for p in files}
    data = AnnotationSet()
    images: dict[str, ImageEntry] = {}
    names: dict[str, None] = {}
    dropped: Counter = Counter()
    for path in paths:
        root = roots[path]
        prefix = f"{root}/" if root else ""
        labels_file = by_path.get(prefix + LABELS_FILE)
        if labels_file is not None:
            classes = [n.strip() for n in _text(labels_file, files[labels_file]).splitlines() if n.strip()]
            if not classes:
                raise FormatError(labels_file, "no class names (one a line)")
        else:
            classes = list(MOT_CLASSES)
        seqinfo = by_path.get(prefix + SEQINFO_FILE)
        size = _seqinfo_size(seqinfo, files[seqinfo]) if seqinfo is not None else None
        rows = _read_rows(path, files[path], labels[root], classes, size, size_of, images, dropped)
        # The label set a labels.txt gives, else the MOT classes the rows use.
        names.update(dict.fromkeys(classes if labels_file is not None else (r.box.label for r in rows)))
        data.boxes += _with_outside_marks(rows, labels[root], path, size, size_of, images)
    data.images = list(images.values())
    data.labels = [LabelEntry(name) for name in names]
    data.dropped = {key: n for key, n in dropped.items() if n}
    return data


def _frame(
    folder: str,
    frame: int,
    size: tuple[int, int] | None,
    size_of: Callable[[str], tuple[int, int] | None],
    images: dict[str, ImageEntry],
    file: str,
    line: int,
) -> ImageEntry:
    name = frame_file_name(folder, frame)
    image = images.get(name)
    if image is None:
        # Unknown without seqinfo.ini when the name mapping places no frame here: 0 x 0, and the import
        # checks the box against the frame the name maps to, or lists the name as unmatched.
        known = size or size_of(name) or (0, 0)
        image = images[name] = frame_image(folder, frame, *known)
    return image


def _read_rows(
    file: str,
    content: bytes,
    folder: str,
    classes: list[str],
    size: tuple[int, int] | None,
    size_of: Callable[[str], tuple[int, int] | None],
    images: dict[str, ImageEntry],
    dropped: Counter,
) -> list[_Row]:
    rows: list[_Row] = []
    append = rows.append
    seen: set[tuple[int, int]] = set()
    frames: dict[int, ImageEntry] = {}  # 1-based frame -> its image
    names = len(classes)
    for number, line in enumerate(_text(file, content).splitlines(), 1):
        parts = line.split(",")
        # The common case (9 well-formed values of a box inside a known frame) in a few conversions and
        # comparisons: 100,000 rows are read in a request. Any doubt goes to _fields, which names the problem.
        try:
            frame, track, klass = int(parts[0]), int(parts[1]), int(parts[7])
            x, y, w, h = float(parts[2]), float(parts[3]), float(parts[4]), float(parts[5])
            visibility, ignored = float(parts[8]), float(parts[6]) == 0
            image = frames.get(frame)
            if image is None and frame >= 1:  # a frame's first row: a new frame is no doubt about the row
                image = frames[frame] = _frame(folder, frame - 1, size, size_of, images, file, number)
            ok = (
                len(parts) == 9
                and image is not None
                and 1 <= klass <= names
                and 0 <= x
                and 0 <= y
                and 0 < w
                and 0 < h
                and x + w <= image.width
                and y + h <= image.height
                and math.isfinite(visibility)
                and (track <= 0 or (track, frame) not in seen)
            )
        except (ValueError, IndexError):
            ok = False
        if not ok:
            if not line.strip():
                continue
            frame, track, x, y, w, h, ignored, klass, visibility = _fields(line, file, number, names)
            if track > 0 and (track, frame) in seen:
                raise FormatError(file, f"track {track} has two rows on frame {frame}", line=number)
            image = frames.get(frame) or _frame(folder, frame - 1, size, size_of, images, file, number)
            frames[frame] = image
            limit = (image.width, image.height) if image.width else None
            if limit and (x < -SLACK or y < -SLACK or x + w > limit[0] + SLACK or y + h > limit[1] + SLACK):
                dropped["clamped to the image"] += 1
            x, y, w, h = checked_box(x, y, w, h, limit, slack=math.inf, file=file, line=number)
        if track > 0:
            seen.add((track, frame))
        box = BoxEntry(
            image.file_name,  # type: ignore[union-attr]
            classes[klass - 1],
            x,
            y,
            w,
            h,
            str(track) if track > 0 else None,
            occluded=visibility <= 0,
            crowd=ignored,
        )
        append(_Row(frame - 1, track, box, number))
    return rows


def _fields(
    line: str, file: str, number: int, names: int
) -> tuple[int, int, float, float, float, float, bool, int, float]:
    """A row's frame (1-based), track, x, y, w, h, ignored, class and visibility, checked one by one: the
    first problem raises, naming the line."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 6:
        raise FormatError(
            file,
            "expected comma-separated frame,track,x,y,w,h[,not_ignored,class,visibility], "
            f"got {len(parts)} values",
            line=number,
        )
    frame = _whole(parts[0], "frame", file, number)
    if frame < 1:
        raise FormatError(file, f"frame must be >= 1 (MOT counts from 1), got {parts[0]}", line=number)
    track = _whole(parts[1], "track id", file, number)
    x, y, w, h = (_real(parts[i], key, file, number) for i, key in enumerate(("x", "y", "w", "h"), 2))
    ignored = len(parts) > 6 and _real(parts[6], "not_ignored", file, number) == 0
    klass = _whole(parts[7], "class", file, number) if len(parts) > 7 and parts[7] else -1
    if klass == -1:
        raise FormatError(file, "the row names no class (column 8, 1-based into gt/labels.txt)", line=number)
    if not 1 <= klass <= names:
        raise FormatError(file, f"class {parts[7]} is not in 1..{names} (gt/labels.txt)", line=number)
    visibility = _real(parts[8], "visibility", file, number) if len(parts) > 8 and parts[8] else 1.0
    return frame, track, x, y, w, h, ignored, klass, visibility


def _with_outside_marks(
    rows: list[_Row],
    folder: str,
    file: str,
    size: tuple[int, int] | None,
    size_of: Callable[[str], tuple[int, int] | None],
    images: dict[str, ImageEntry],
) -> list[BoxEntry]:
    """The rows' boxes by frame (then row), and an outside keyframe after a gap in a track (CVAT's rule)."""
    placed: list[tuple[int, float, BoxEntry]] = [(r.frame, i, r.box) for i, r in enumerate(rows)]
    by_track: dict[int, list[tuple[int, _Row]]] = {}
    for i, r in enumerate(rows):
        if r.track > 0:
            by_track.setdefault(r.track, []).append((i, r))
    for track_rows in by_track.values():
        track_rows.sort(key=lambda item: item[1].frame)
        for (i, a), (_, b) in zip(track_rows, track_rows[1:], strict=False):
            if b.frame - a.frame > 1:
                image = _frame(folder, a.frame + 1, size, size_of, images, file, a.line)
                mark = BoxEntry(
                    image.file_name,
                    a.box.label,
                    a.box.x,
                    a.box.y,
                    a.box.width,
                    a.box.height,
                    a.box.track_id,
                    occluded=a.box.occluded,
                    outside=True,
                    crowd=a.box.crowd,
                )
                placed.append((a.frame + 1, i + 0.5, mark))
    placed.sort(key=lambda item: (item[0], item[1]))
    return [box for _, _, box in placed]
