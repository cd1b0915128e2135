"""YOLO detection labels as Ultralytics, CVAT (YOLO 1.1), Label Studio and Roboflow lay them out.

Writing (Ultralytics): `data.yaml` names the classes (`names: {0: first, 1: ...}`, 0-based in label order)
with `train: images`, `val: images` and no `path`, so Ultralytics resolves the folders beside the yaml file.
`labels/<stem>.txt` beside `images/<stem>.jpg` holds one line per box, `class cx cy w h`: the box centre
and size divided by the image width and height, 6 decimals. Every image in `data.images` gets a label
file, an image without boxes an empty one (a background image, as Ultralytics counts it).

Reading takes the classes from `data.yaml` (any .yaml), else `classes.txt` (Label Studio) or `obj.names`
(CVAT's YOLO 1.1), and the label files from
- `labels/` folders at any depth, paired with the image Ultralytics would pair them with (the last
  `labels` folder of the path read as `images`): Ultralytics, Label Studio, Roboflow
  (`train|valid|test/labels/`), `labels/<split>/`;
- `obj_<subset>_data/` folders (CVAT's YOLO 1.1), paired through the subset lists `obj.data` names
  (`train = data/train.txt`, one `data/obj_train_data/<image>` a line);
- any other .txt beside an image of its stem (LabelImg).
A label file pairs with the image at that place, else the image a CVAT list names, else the one image of
its stem in the upload; when the upload holds no images (annotations only) the image is `<stem>.jpg`.
A label file with lines that pairs with no image is an error naming it, as is any other .txt whose lines
read as YOLO boxes: nothing is skipped without a word. A box's `split` is its subset: CVAT's, or the
folder beside `labels` that names a split (`train/labels/`, `labels/val/`; a folder `data.yaml` uses, or
train/val/valid/test...).

A line is `class cx cy w h`, with a 6th number taken as the confidence (YOLO's word for annograph's
`score`). A file with any line of more than 6 numbers holds segments, as Ultralytics reads it: each line
`class x1 y1 x2 y2 ...` (3 points or more) comes in as the box around its points, which is what
Ultralytics trains a detector on, and the outline is counted in `dropped["polygons"]`; a file mixing
segment and box lines is refused, as Ultralytics refuses it. Pixel corners are rounded to 1/1000 pixel (so
whole-pixel boxes come back whole) and a box that sticks out of the image by at most a pixel (rounding) is
clamped into it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import yaml

from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    Fidelity,
    FormatError,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    base_name,
    checked_box,
    class_names,
    lost_details,
    members,
    parse_image_file_name,
)

IMAGE_DIR = "images"
LABEL_DIR = "labels"
DATA_FILE = "data.yaml"
CVAT_DATA_FILE = "obj.data"
CARRIED: set[str] = set()  # boxes' class and geometry only
SLACK = 1.0  # pixels outside the image that 6-decimal rounding (ours or another tool's) explains
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# Folder names that say which subset a folder beside `labels` is (besides those data.yaml uses).
SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "test", "testing", "default"})
_CVAT_FOLDER = re.compile(r"^obj_(.+)_data$")
_CVAT_RESERVED = frozenset({"classes", "names", "backup"})  # obj.data keys that are not subsets
_NAMES_FILES = ("classes.txt", "obj.names")
_SMALLEST = 1e-6  # a normalised size that 6 decimals still show: no box is written 0 wide


def stem(file_name: str) -> str:
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
    """`labels/<stem>.txt` for every image of `data.images` (images without boxes too: the exporter
    passes them when `options.negatives` asks for background images) and `data.yaml`."""
    names = class_names(data)
    classes = {name: i for i, name in enumerate(names)}
    lines: dict[str, list[str]] = defaultdict(list)
    sizes = {image.file_name: (image.width, image.height) for image in data.images}
    for b in data.boxes:
        size = sizes.get(b.file_name)
        if size is None:
            raise ValueError(f"a box lies on image {b.file_name!r}, which data.images lacks")
        w, h = size
        lines[b.file_name].append(
            f"{classes[b.label]} {(b.x + b.width / 2) / w:.6f} {(b.y + b.height / 2) / h:.6f} "
            f"{max(b.width / w, _SMALLEST):.6f} {max(b.height / h, _SMALLEST):.6f}\n"
        )
    written: set[str] = set()
    for image in data.images:
        path = f"{LABEL_DIR}/{stem(image.file_name)}.txt"
        if path in written:
            raise ValueError(f"two images share the stem of {image.file_name!r}: YOLO pairs files by stem")
        written.add(path)
        add(path, "".join(lines.get(image.file_name, ())).encode())
    spec = {"train": IMAGE_DIR, "val": IMAGE_DIR, "nc": len(names), "names": dict(enumerate(names))}
    add(DATA_FILE, yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).encode())
    lost = lost_details(data, CARRIED)
    return Fidelity(ExportFormat.YOLO, lost)


def find_names_file(files: Mapping[str, bytes]) -> str | None:
    """The file naming the classes: data.yaml (any .yaml when none is so named), else classes.txt
    (Label Studio) or obj.names (CVAT's YOLO 1.1)."""
    yamls = members(files, ".yaml", ".yml")
    found = [p for p in yamls if base_name(p).lower() in ("data.yaml", "data.yml")] or yamls
    found = found or [p for p in members(files, ".txt", ".names") if base_name(p).lower() in _NAMES_FILES]
    return min(found, key=lambda p: (p.count("/"), p)) if found else None


def read_names(file: str, content: bytes) -> list[str]:
    """The class names, in class order."""
    if file.lower().endswith((".yaml", ".yml")):
        return _yaml_names(file, content)
    return [line.strip() for line in _text(file, content).splitlines() if line.strip()]


def _text(file: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _yaml(file: str, content: bytes) -> object:
    try:
        return yaml.safe_load(_text(file, content))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise FormatError(file, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None) from None


def _yaml_names(file: str, content: bytes) -> list[str]:
    spec = _yaml(file, content)
    if not isinstance(spec, dict) or spec.get("names") is None:
        raise FormatError(file, "names is missing: data.yaml must name the classes", where="names")
    names = spec["names"]
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise FormatError(
            file, "names must be a list or a mapping {0: name, ...} with at least one class", where="names"
        )
    by_class = {}
    for key, name in names.items():
        if type(key) is str and key.isdigit():
            key = int(key)
        if type(key) is not int or key < 0:
            raise FormatError(file, f"class {key!r} must be an integer >= 0", where=f"names.{key}")
        if isinstance(name, bool) or not isinstance(name, str | int | float) or not str(name).strip():
            raise FormatError(
                file, f"the name of class {key} must be a non-empty string", where=f"names.{key}"
            )
        by_class[key] = str(name)
    if sorted(by_class) != list(range(len(by_class))):
        raise FormatError(
            file, f"classes must be numbered 0..{len(by_class) - 1}, got {sorted(by_class)}", where="names"
        )
    return [by_class[i] for i in range(len(by_class))]


def _folders(path: str) -> list[str]:
    return path.replace("\\", "/").split("/")[:-1]


def label_files(files: Mapping[str, bytes]) -> list[str]:
    """The .txt files in a `labels` folder (at any depth, e.g. labels/train/x.txt, train/labels/x.txt) or in
    an `obj_<subset>_data` folder (CVAT's YOLO 1.1)."""
    return [
        p
        for p in members(files, ".txt")
        if any(part == LABEL_DIR or _CVAT_FOLDER.match(part) for part in _folders(p))
    ]


def looks_like(files: Mapping[str, bytes]) -> bool:
    """A names file and label files: YOLO, whatever JSON lies beside them (Label Studio's notes.json)."""
    return find_names_file(files) is not None and bool(label_files(files))


@dataclass(frozen=True)
class _Images:
    """Where the upload's images are: by path without suffix, and by stem."""

    by_path: dict[str, str]  # "train/images/x" -> "train/images/x.jpg"
    by_stem: dict[str, list[str]]  # "x" -> ["train/images/x.jpg", ...]
    # What CVAT's subset lists name: "obj_train_data/x" -> ("obj_train_data/x.jpg", "train")
    listed: dict[str, tuple[str, str]]

    @property
    def none(self) -> bool:
        return not self.by_path and not self.listed


def _images(files: Mapping[str, bytes]) -> _Images:
    by_path: dict[str, str] = {}
    by_stem: dict[str, list[str]] = defaultdict(list)
    for path in members(files, *IMAGE_SUFFIXES):
        normal = path.replace("\\", "/")
        by_path[stem(normal)] = normal
        by_stem[stem(base_name(normal))].append(normal)
    return _Images(by_path, by_stem, _cvat_lists(files))


def _cvat_lists(files: Mapping[str, bytes]) -> dict[str, tuple[str, str]]:
    """The images CVAT's subset lists name, by path without suffix: {path stem: (image path, subset)}.

    obj.data holds `key = value` lines; every key but classes, names and backup names a subset and its
    list file. Paths in it and in the lists start with `data/`, the folder obj.data lies in."""
    listed: dict[str, tuple[str, str]] = {}
    for data_file in (p for p in members(files, ".data") if base_name(p).lower() == CVAT_DATA_FILE):
        root = data_file.replace("\\", "/")[: -len(base_name(data_file))]
        for line in _text(data_file, files[data_file]).splitlines():
            key, _, value = (part.strip() for part in line.partition("="))
            if not value or key.lower() in _CVAT_RESERVED:
                continue
            list_file = _within(root, value)
            content = files.get(list_file)
            if content is None:
                continue  # the folder obj_<subset>_data/ still says the subset
            for entry in _text(list_file, content).splitlines():
                if entry.strip():
                    image = _within(root, entry.strip())
                    listed[stem(image)] = (image, key)
    return listed


def _within(root: str, path: str) -> str:
    """A path of obj.data or a CVAT list (`data/obj_train_data/x.jpg`) as a member of the upload."""
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return root + (path[len("data/") :] if path.startswith("data/") else path)


def _split_names(files: Mapping[str, bytes], names_file: str) -> set[str]:
    """Folder names that say a subset: SPLIT_NAMES and the folders data.yaml's train/val/test name."""
    names = set(SPLIT_NAMES)
    if not names_file.lower().endswith((".yaml", ".yml")):
        return names
    spec = _yaml(names_file, files[names_file])
    for key in ("train", "val", "test"):
        value = spec.get(key) if isinstance(spec, dict) else None
        for path in value if isinstance(value, list) else [value]:
            if isinstance(path, str):
                names |= {
                    p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..", IMAGE_DIR)
                }
    return names


def _pair(label_file: str, images: _Images, splits: set[str]) -> tuple[str, str | None] | None:
    """(the image path or name a label file is for, its split), or None when no image pairs with it."""
    normal = label_file.replace("\\", "/")
    parts = normal.split("/")
    folders = parts[:-1]
    split = None
    if LABEL_DIR in folders:
        last = len(folders) - 1 - folders[::-1].index(LABEL_DIR)
        wanted = "/".join([*folders[:last], IMAGE_DIR, *folders[last + 1 :], stem(parts[-1])])
        # The folders labels/<here>/ and <here>/labels/, in that order.
        beside = folders[last + 1 : last + 2] + folders[max(last - 1, 0) : last]
        split = next((f for f in beside if f in splits or f.lower() in splits), None)
    else:
        wanted = stem(normal)
        cvat = next((m.group(1) for f in folders[::-1] if (m := _CVAT_FOLDER.match(f))), None)
        split = cvat
    if wanted in images.by_path:
        return images.by_path[wanted], split
    if stem(normal) in images.listed:
        image, subset = images.listed[stem(normal)]
        return image, subset
    same_stem = images.by_stem.get(stem(parts[-1]), [])
    if len(same_stem) == 1:
        return same_stem[0], split
    if len(same_stem) > 1:
        raise FormatError(label_file, f"several images could be its image ({', '.join(same_stem)})")
    if images.none:
        return stem(parts[-1]) + ".jpg", split
    return None


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    names_file = find_names_file(files)
    if names_file is None:
        raise FormatError(DATA_FILE, "no data.yaml (or classes.txt, obj.names) naming the classes")
    names = read_names(names_file, files[names_file])
    images = _images(files)
    splits = _split_names(files, names_file)
    data = AnnotationSet(labels=[LabelEntry(name) for name in dict.fromkeys(names)])
    seen: dict[str, str] = {}
    candidates = _candidates(files, images)
    if not candidates:
        raise FormatError(
            names_file,
            "no label files: labels/<image>.txt (or obj_<subset>_data/<image>.txt, CVAT's YOLO 1.1)",
        )
    for file in candidates:
        lines = _lines(file, files[file])
        paired = _pair(file, images, splits)
        if paired is None:
            if lines:
                raise FormatError(
                    file,
                    "no image of the upload pairs with this label file (Ultralytics pairs labels/<name>.txt "
                    "with images/<name>.<ext>, CVAT lists its images in train.txt)",
                )
            continue  # an empty label file of an image not in the upload: nothing of it is lost
        path, split = paired
        name = base_name(path)
        if name in seen:
            raise FormatError(file, f"a second label file for image {name!r} (the first is {seen[name]})")
        seen[name] = file
        size = size_of(name)
        if size is None:
            raise FormatError(file, f"the size of image {name!r} is not known: YOLO boxes are relative to it")
        index, camera, frame = parse_image_file_name(name) or (-1, "", -1)
        data.images.append(ImageEntry(name, index, camera, frame, size[0], size[1]))
        polygons = any(len(parts) > 6 for _, parts in lines)
        for number, parts in lines:
            data.boxes.append(_box(parts, polygons, names, names_file, name, size, file, number, split))
        if polygons:
            data.dropped["polygons"] = data.dropped.get("polygons", 0) + len(lines)
    return data


def _candidates(files: Mapping[str, bytes], images: _Images) -> list[str]:
    """The label files, and every other .txt whose lines read as YOLO boxes (so a label file in a place
    no tool reads is an error, not 0 boxes): a .txt beside an image of its stem pairs with it."""
    found = label_files(files)
    known = set(found)
    for path in members(files, ".txt"):
        if path in known or base_name(path).lower() in _NAMES_FILES:
            continue
        if stem(path.replace("\\", "/")) in images.by_path or _looks_like_labels(path, files[path]):
            found.append(path)
    return found


def _looks_like_labels(file: str, content: bytes) -> bool:
    try:
        rows = [line.split() for line in content.decode("utf-8-sig").splitlines() if line.strip()]
    except UnicodeDecodeError:
        return False
    return bool(rows) and all(len(row) >= 5 and all(_is_number(p) for p in row) for row in rows)


def _lines(file: str, content: bytes) -> list[tuple[int, list[str]]]:
    """(line number, the line's numbers as text) of each non-empty line."""
    return [(n, line.split()) for n, line in enumerate(_text(file, content).splitlines(), 1) if line.strip()]


def _box(
    parts: list[str],
    polygons: bool,
    names: list[str],
    names_file: str,
    image: str,
    size: tuple[int, int],
    file: str,
    number: int,
    split: str | None,
) -> BoxEntry:
    if polygons:
        # Ultralytics reads such a file as segments; box rows among them it refuses (not two readings).
        if len(parts) == 5:
            raise FormatError(
                file,
                "a box row (class cx cy w h) in a file of segment rows (class x1 y1 x2 y2 ...)",
                line=number,
            )
        if len(parts) < 7 or len(parts) % 2 == 0:
            raise FormatError(
                file,
                f"a segment row is a class and 3 or more x y pairs, got {len(parts)} numbers",
                line=number,
            )
    elif len(parts) not in (5, 6):
        expected = "expected 5 numbers (class cx cy w h) or 6 (and a confidence)"
        raise FormatError(file, f"{expected}, got {len(parts)}", line=number)
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise FormatError(
            file, f"not a number: {next(p for p in parts if not _is_number(p))!r}", line=number
        ) from None
    klass = values[0]
    if not klass.is_integer() or not 0 <= klass < len(names):
        where = f"{base_name(names_file)} names (0..{len(names) - 1})"
        raise FormatError(file, f"class {parts[0]} is not in {where}", line=number)
    keys = ["cx", "cy", "w", "h"]
    if polygons:
        keys = [f"{axis}{i}" for i in range(1, len(parts) // 2 + 1) for axis in "xy"]
    for key, text, value in zip(keys, parts[1:], values[1:], strict=False):
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise FormatError(
                file, f"{key} {text} is outside 0..1 (YOLO values are divided by the image size)", line=number
            )
    width, height = size
    confidence = None
    if polygons:
        xs, ys = values[1::2], values[2::2]
        x0, x1 = round(min(xs) * width, 3), round(max(xs) * width, 3)
        y0, y1 = round(min(ys) * height, 3), round(max(ys) * height, 3)
    else:
        cx, cy, w, h = values[1:5]
        if w <= 0 or h <= 0:
            raise FormatError(file, "width and height must be > 0", line=number)
        confidence = values[5] if len(values) == 6 else None
        if confidence is not None and not (math.isfinite(confidence) and 0 <= confidence <= 1):
            raise FormatError(file, f"confidence {parts[5]} must be between 0 and 1", line=number)
        # Corners to 1/1000 pixel, about what 6 normalised decimals carry: whole-pixel boxes come back whole.
        x0, x1 = round((cx - w / 2) * width, 3), round((cx + w / 2) * width, 3)
        y0, y1 = round((cy - h / 2) * height, 3), round((cy + h / 2) * height, 3)
    x, y, bw, bh = checked_box(
        x0, y0, round(x1 - x0, 3), round(y1 - y0, 3), size, slack=SLACK, file=file, line=number
    )
    return BoxEntry(image, names[int(klass)], x, y, bw, bh, score=confidence, split=split)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
