"""datumaro reads our exports: COCO, Pascal VOC, YOLO, CVAT for video and MOT, boxes as we wrote them.

datumaro pins older Pillow and pyarrow than the service uses, so it lives in its own venv, .venv-datumaro,
which `make test` builds beside .venv (see the Makefile); tests/domain/objects/datumaro_boxes.py runs there
and prints what datumaro sees as JSON.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from domain.objects.transfer.exports import write_zip
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
    image_file_name,
    parse_image_file_name,
)
from domain.objects.transfer.formats.video_layout import parse_folder
from tests.domain.objects.format_samples import jpeg

ROOT = Path(__file__).resolve().parents[3]
PYTHON = ROOT / ".venv-datumaro" / "bin" / "python"
SCRIPT = Path(__file__).with_name("datumaro_boxes.py")
# Sizes and boxes in whole pixels with even sides, so YOLO's 6 normalised decimals hold them exactly.
SIZES = {"front": (64, 64), "wrist": (64, 32)}


def image(episode: int, camera: str, frame: int) -> ImageEntry:
    return ImageEntry(image_file_name(episode, camera, frame), episode, camera, frame, *SIZES[camera])


def boxes() -> AnnotationSet:
    """Two videos: a track leaving the view and coming back, an occluded track, boxes without a track."""
    f = [image(1, "front", n) for n in (0, 1, 2, 4)]
    w = [image(2, "wrist", n) for n in (3, 4)]
    listed = [
        BoxEntry(f[0].file_name, "person", 10.0, 4.0, 20.0, 30.0, "1", source="MANUAL"),
        BoxEntry(f[1].file_name, "person", 12.0, 4.0, 20.0, 30.0, "1", source="INTERPOLATED", keyframe=False),
        BoxEntry(f[2].file_name, "person", 12.0, 4.0, 20.0, 30.0, "1", outside=True, source="MANUAL"),
        BoxEntry(f[3].file_name, "person", 30.0, 6.0, 20.0, 30.0, "1", source="MANUAL"),
        BoxEntry(f[0].file_name, "cone", 44.0, 44.0, 20.0, 20.0, source="MODEL"),
        BoxEntry(f[2].file_name, "cone", 0.0, 0.0, 2.0, 2.0, occluded=True),
        BoxEntry(w[0].file_name, "person", 2.0, 2.0, 10.0, 12.0, "2", occluded=True),
        BoxEntry(w[1].file_name, "person", 4.0, 2.0, 10.0, 12.0, "2"),
        BoxEntry(w[1].file_name, "cone", 50.0, 20.0, 14.0, 12.0),
    ]
    return AnnotationSet(
        [LabelEntry("person"), LabelEntry("cone")],
        [*f, *w],
        listed,
        video_lengths={(1, "front"): 5, (2, "wrist"): 5},
    )


def datumaro(fmt: str, folders: list[Path]) -> list[dict]:
    assert PYTHON.exists(), f"{PYTHON} is missing: `make test` builds it (make .venv-datumaro/.stamp-*)"
    done = subprocess.run(
        [str(PYTHON), str(SCRIPT), fmt, *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def exported(fmt: ExportFormat, data: AnnotationSet, tmp_path: Path, with_images: bool = False) -> Path:
    """Our export zip as exportAnnotations writes it (with the frames, or without), unpacked: the folder."""
    archive, folder = tmp_path / "export.zip", tmp_path / "export"
    image = (lambda m: jpeg(m.width, m.height)) if with_images else None
    write_zip(archive, fmt, data, image, lambda fraction: None)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    return folder


def geometry(box: BoxEntry | dict) -> tuple[float, ...]:
    if isinstance(box, dict):
        return box["x"], box["y"], box["w"], box["h"]
    return box.x, box.y, box.width, box.height


def assert_near(got: list[tuple], want: list[tuple]) -> None:
    """Equal lists of (key..., geometry) rows: keys exactly, coordinates within 1e-6 px."""
    assert len(got) == len(want), (got, want)
    for g, w in zip(sorted(got), sorted(want), strict=True):
        assert g[:-1] == w[:-1], (g, w)
        assert all(abs(a - b) <= 1e-6 for a, b in zip(g[-1], w[-1], strict=True)), (g, w)


def visible(data: AnnotationSet) -> AnnotationSet:
    """What an export in a training format holds: exports leave outside marks out of those."""
    return AnnotationSet(data.labels, data.images, [b for b in data.boxes if not b.outside])


def frames(data: AnnotationSet) -> dict[str, tuple[int, str, int]]:
    return {m.file_name: (m.episode_index, m.camera, m.frame) for m in data.images}


@pytest.mark.parametrize("with_images", [True, False])
def test_datumaro_reads_our_coco(tmp_path, with_images):
    data = visible(boxes())
    folder = exported(ExportFormat.COCO, data, tmp_path, with_images)  # without: still an images folder
    seen = datumaro("coco_instances", [folder])
    at = frames(data)
    got = [
        (
            parse_image_file_name(s["item"] + ".jpg"),
            s["label"],
            str(s["attributes"].get("track_id")),
            s["attributes"].get("occluded"),
            geometry(s),
        )
        for s in seen
    ]
    want = [(at[b.file_name], b.label, str(b.track_id), b.occluded, geometry(b)) for b in data.boxes]
    assert_near(got, want)


def test_datumaro_reads_our_voc(tmp_path):
    data = visible(boxes())
    seen = datumaro("voc", [exported(ExportFormat.VOC, data, tmp_path)])
    at = frames(data)
    got = [
        (parse_image_file_name(s["item"] + ".jpg"), s["label"], s["attributes"].get("occluded"), geometry(s))
        for s in seen
    ]
    want = [(at[b.file_name], b.label, b.occluded, geometry(b)) for b in data.boxes]
    assert_near(got, want)


def test_datumaro_reads_our_yolo(tmp_path):
    data = visible(boxes())
    folder = exported(ExportFormat.YOLO, data, tmp_path, with_images=True)  # boxes relative to the image
    seen = datumaro("yolo", [folder])
    at = frames(data)
    got = [
        (parse_image_file_name(s["item"].rsplit("/", 1)[-1] + ".jpg"), s["label"], geometry(s)) for s in seen
    ]
    want = [(at[b.file_name], b.label, geometry(b)) for b in data.boxes]
    assert_near(got, want)


def test_datumaro_reads_our_cvat_video_tracks(tmp_path):
    data = boxes()
    folders = sorted(p.parent for p in exported(ExportFormat.CVAT, data, tmp_path).rglob("annotations.xml"))
    assert [p.name for p in folders] == ["episode_000001_front", "episode_000002_wrist"]
    seen = datumaro("cvat", folders)
    at = frames(data)

    def where(s: dict) -> tuple[int, str, int]:
        return (*parse_folder(Path(s["folder"]).name), s["frame"])  # type: ignore[misc]

    ours = {("episode_000001_front", "1"), ("episode_000002_wrist", "2")}
    tracked = [s for s in seen if (Path(s["folder"]).name, str(s["attributes"]["track_id"])) in ours]
    got = [
        (
            where(s),
            s["label"],
            str(s["attributes"]["track_id"]),
            s["attributes"]["outside"],
            s["attributes"]["keyframe"],
            s["attributes"]["occluded"],
            geometry(s),
        )
        for s in tracked
    ]
    want = [
        (at[b.file_name], b.label, b.track_id, b.outside, b.keyframe, b.occluded, geometry(b))
        for b in data.boxes
        if b.track_id
    ]
    assert_near(got, want)
    # A box without a track is a track of its own, as CVAT exports a shape: seen on its frame, out of view
    # from the next one (the front video has 5 frames: the cone on frame 4 needs no closing mark).
    own = [s for s in seen if s not in tracked]
    got = [
        (where(s), s["label"], s["attributes"]["outside"], s["attributes"]["occluded"], geometry(s))
        for s in own
    ]
    want = []
    for b in data.boxes:
        if b.track_id is None:
            want.append((at[b.file_name], b.label, False, b.occluded, geometry(b)))
            episode, camera, number = at[b.file_name]
            if number + 1 < 5:
                want.append(((episode, camera, number + 1), b.label, True, b.occluded, geometry(b)))
    assert_near(got, want)
    assert len({(s["folder"], s["attributes"]["track_id"]) for s in own}) == 3


def test_datumaro_reads_our_mot(tmp_path):
    data = boxes()
    export = exported(ExportFormat.MOT, data, tmp_path)
    at = frames(data)
    # datumaro names MOT items by frame number alone, so it reads one sequence (video) at a time.
    got = []
    for folder in sorted(p.parent.parent for p in export.rglob("gt/gt.txt")):
        for s in datumaro("mot_seq", [folder]):
            episode, camera = parse_folder(folder.name)  # type: ignore[misc]
            got.append(
                (
                    (episode, camera, int(s["item"]) - 1),
                    s["label"],
                    str(s["attributes"].get("track_id")),
                    s["attributes"]["occluded"],
                    s["attributes"]["ignored"],
                    geometry(s),
                )
            )
    want = [
        (at[b.file_name], b.label, str(b.track_id), b.occluded, b.crowd, geometry(b))
        for b in data.boxes
        if not b.outside
    ]
    assert_near(got, want)
