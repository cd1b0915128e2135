"""YOLO detection labels as Ultralytics reads them.

`data.yaml` names the classes (`names: {0: first, 1: ...}`, 0-based in label order) with
`train: images`, `val: images` and no `path`, so Ultralytics resolves the folders beside the yaml file.
`labels/<stem>.txt` beside `images/<stem>.jpg` holds one line per box, `class cx cy w h`: the box
centre and size divided by the image width and height, 6 decimals. An image
without boxes gets an empty .txt. Reading also takes a 6th number per line as the confidence (YOLO's word
for annograph's `score`), rounds the pixel corners to 1/1000 pixel (so whole-pixel boxes come back whole)
and clamps a box that sticks out of the image by at most a pixel (rounding) into it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping

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
CARRIED: set[str] = set()  # boxes' class and geometry only
SLACK = 1.0  # pixels outside the image that 6-decimal rounding (ours or another tool's) explains
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def stem(file_name: str) -> str:
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def write(
    data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = TransferOptions()
) -> Fidelity:
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
            f"{b.width / w:.6f} {b.height / h:.6f}\n"
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
    """The file naming the classes: data.yaml (any .yaml when none is so named), else classes.txt."""
    yamls = members(files, ".yaml", ".yml")
    found = [p for p in yamls if base_name(p).lower() in ("data.yaml", "data.yml")] or yamls
    found = found or [
        p for p in members(files, ".txt", ".names") if base_name(p).lower() in ("classes.txt", "obj.names")
    ]
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


def _yaml_names(file: str, content: bytes) -> list[str]:
    try:
        spec = yaml.safe_load(_text(file, content))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise FormatError(file, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None) from None
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


def label_files(files: Mapping[str, bytes]) -> list[str]:
    """The .txt files in a `labels` folder (at any depth, e.g. labels/train/x.txt)."""
    return [p for p in members(files, ".txt") if LABEL_DIR in p.replace("\\", "/").split("/")[:-1]]


def read(
    files: Mapping[str, bytes],
    size_of: Callable[[str], tuple[int, int] | None],
    options: TransferOptions = TransferOptions(),
) -> AnnotationSet:
    names_file = find_names_file(files)
    if names_file is None:
        raise FormatError(DATA_FILE, "no data.yaml (or classes.txt) naming the classes")
    names = read_names(names_file, files[names_file])
    images_by_stem = _images_by_stem(files)
    data = AnnotationSet(labels=[LabelEntry(name) for name in dict.fromkeys(names)])
    seen: set[str] = set()
    for file in label_files(files):
        name = _image_name(file, images_by_stem)
        if name in seen:
            raise FormatError(file, f"a second label file for image {name!r}")
        seen.add(name)
        size = size_of(name)
        if size is None:
            raise FormatError(file, f"the size of image {name!r} is not known: YOLO boxes are relative to it")
        index, camera, frame = parse_image_file_name(name) or (-1, "", -1)
        data.images.append(ImageEntry(name, index, camera, frame, size[0], size[1]))
        for number, line in enumerate(_text(file, files[file]).splitlines(), 1):
            if line.strip():
                data.boxes.append(_box(line, names, names_file, name, size, file, number))
    return data


def _images_by_stem(files: Mapping[str, bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in members(files, *IMAGE_SUFFIXES):
        found[stem(base_name(path))].append(path.replace("\\", "/"))
    return found


def _image_name(label_file: str, images_by_stem: dict[str, list[str]]) -> str:
    """The image a label file is for: the one where Ultralytics looks (the last labels/ folder of its path
    read as images/), else any image with that stem, else <stem>.jpg."""
    parts = label_file.replace("\\", "/").split("/")
    last = len(parts) - 2 - parts[-2::-1].index(LABEL_DIR)
    wanted = "/".join([*parts[:last], IMAGE_DIR, *parts[last + 1 : -1], stem(parts[-1])])
    candidates = images_by_stem.get(stem(parts[-1]), [])
    for candidate in candidates:
        if stem(candidate) == wanted:
            return base_name(candidate)
    return base_name(candidates[0]) if candidates else stem(parts[-1]) + ".jpg"


def _box(
    line: str, names: list[str], names_file: str, image: str, size: tuple[int, int], file: str, number: int
) -> BoxEntry:
    parts = line.split()
    if len(parts) not in (5, 6):
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
    for key, text, value in zip(("cx", "cy", "w", "h"), parts[1:5], values[1:5], strict=True):
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise FormatError(
                file, f"{key} {text} is outside 0..1 (YOLO values are divided by the image size)", line=number
            )
    cx, cy, w, h = values[1:5]
    if w <= 0 or h <= 0:
        raise FormatError(file, "width and height must be > 0", line=number)
    confidence = values[5] if len(values) == 6 else None
    if confidence is not None and not (math.isfinite(confidence) and 0 <= confidence <= 1):
        raise FormatError(file, f"confidence {parts[5]} must be between 0 and 1", line=number)
    width, height = size
    # Corners to 1/1000 pixel, about what 6 normalised decimals carry: whole-pixel boxes come back whole.
    x0, x1 = round((cx - w / 2) * width, 3), round((cx + w / 2) * width, 3)
    y0, y1 = round((cy - h / 2) * height, 3), round((cy + h / 2) * height, 3)
    x, y, bw, bh = checked_box(
        x0, y0, round(x1 - x0, 3), round(y1 - y0, 3), size, slack=SLACK, file=file, line=number
    )
    return BoxEntry(image, names[int(klass)], x, y, bw, bh, score=confidence)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
