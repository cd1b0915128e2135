"""A small AnnotationSet that exercises every field the formats carry or lose (tests of domain/formats)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from PIL import Image

from domain.objects.transfer.formats import registry
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
    image_file_name,
)

SIZES = {"front": (64, 48), "wrist": (80, 60)}


def image(episode: int, camera: str, frame: int) -> ImageEntry:
    return ImageEntry(image_file_name(episode, camera, frame), episode, camera, frame, *SIZES[camera])


def sample() -> AnnotationSet:
    """2 episodes, 2 cameras, 6 frames (one without boxes), 3 labels (one a child), 8 boxes."""
    f0, f1, f2 = image(0, "front", 0), image(0, "front", 1), image(0, "front", 2)
    w0, w7, empty = image(0, "wrist", 0), image(3, "wrist", 7), image(3, "front", 5)
    labels = [LabelEntry("person", "#e6194b"), LabelEntry("cyclist", "#3cb44b", "person"), LabelEntry("cone")]
    boxes = [
        # A track over three frames: a manual keyframe, an interpolated in-between, a keyframe leaving the view.
        BoxEntry(f0.file_name, "person", 10.0, 5.0, 20.0, 30.0, "t1", source="MANUAL", review="VALIDATED",
                 reviewed_by="ana", reviewed_at="2024-05-01T10:00:00+00:00", notes="héllo ✓ «quoted» \"x\""),
        BoxEntry(f1.file_name, "person", 11.5, 5.25, 20.5, 30.25, "t1", source="INTERPOLATED", keyframe=False),
        BoxEntry(f2.file_name, "person", 12.0, 6.0, 20.0, 30.0, "t1", outside=True, source="MANUAL"),
        # Touches the right and bottom border; a rejected model guess.
        BoxEntry(f0.file_name, "cone", 44.0, 28.0, 20.0, 20.0, source="MODEL", score=0.87, review="REJECTED",
                 reviewed_by="bob", reviewed_at="2024-05-02T08:30:00+00:00", reject_reason="not a cone"),
        # Fractional, flagged, a float that is not what it looks like, touches the left and top border.
        BoxEntry(w0.file_name, "cyclist", 0.1 + 0.2, 0.0, 10.7, 12.3, occluded=True, truncated=True,
                 difficult=True, source="MODEL", score=0.5),
        BoxEntry(w0.file_name, "person", 30.0, 20.0, 15.0, 25.0, "t9", occluded=True, source="MANUAL"),
        # Touches the bottom-right corner of the wrist image; imported, so nothing of its source is lost.
        BoxEntry(w7.file_name, "cyclist", 70.0, 50.0, 10.0, 10.0, "t2"),
        BoxEntry(w7.file_name, "cone", 1.0, 2.0, 3.0, 4.0, source="MANUAL", notes=None, review="VALIDATED",
                 reviewed_by="ana", reviewed_at=None),
    ]
    annotations = [
        {"episode_index": 0, "annotator": "ana", "version": 2, "content": {"task": "pick", "success": True,
                                                                           "score": 0.1 + 0.2, "note": None}},
        {"episode_index": 3, "annotator": None, "version": 1, "content": {"phases": [{"start": 0, "end": 12}]}},
    ]
    return AnnotationSet(labels, [f0, f1, f2, w0, w7, empty], boxes, annotations, {"name": "bench", "fps": 29.97})


def carried(box: BoxEntry, *fields: str) -> BoxEntry:
    """`box` as a format that carries only its class, geometry and `fields` reads it back."""
    bare = BoxEntry(box.file_name, box.label, box.x, box.y, box.width, box.height)
    return replace(bare, **{name: getattr(box, name) for name in fields})


def sizes(data: AnnotationSet) -> dict[str, tuple[int, int]]:
    return {m.file_name: (m.width, m.height) for m in data.images}


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(out, "JPEG", quality=90)
    return out.getvalue()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


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
    "sources (MANUAL/MODEL/INTERPOLATED) of 7 boxes", "scores of 2 boxes", "notes of 1 box",
    "review state of 3 boxes",
]
LABEL_LOSSES = ["colours of 2 labels", "parents of 1 label", "episode annotations (2)"]
