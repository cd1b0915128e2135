"""Annotation formats on 100,000 boxes (issue 17's figures), each beside a reference in the same run:

1. import: the format module's `read` of CVAT for video 1.1 XML and of MOT 1.1 against parsing the same
   files alone (CVAT: expat over the same bytes, each <box> with its track's id and label as a tuple of
   typed values; MOT: csv over the same text, each row a tuple of typed values; numpy.loadtxt's time is
   shown beside it); then the whole import service (importAnnotations' domain service, into a scratch
   database) on the same zip, against the same parse;
2. export: each format module's `write` into a zip (deflate, level 6, as exports.write_zip) against
   writing the same members from memory: the JSON documents already built as dicts and lists, dumped
   with the same encoder; the text and XML files already built as lists of lines, joined; into the same
   kind of zip. The issue measured COCO at 3.3x and aims at 1.5x.

    .venv/bin/python -m bench.annotation_formats [--episodes 50] [--frames 1000] [--runs 3]

The boxes: `episodes` episodes of `frames` frames (one camera, 320 x 240), 2 boxes a frame, in tracks of
300 frames numbered 1, 2, ... per episode (as CVAT and MOT number them), 5 labels, random geometry
(full float digits), source MANUAL. Each figure is the median of `runs` runs, the cases interleaved
(each subject beside its reference, run after run); the inputs are built first and frozen out of the
garbage collector's reach (gc.freeze), so a collection during a timed call walks only what that call made.
The import service runs on a database bench/scratch.py creates on ANNOGRAPH_BENCH_POSTGRES and drops (a
temporary SQLite file when no PostgreSQL answers); between runs its boxes are deleted, outside the time.
bench.ground_truth measures the COCO export job end to end (database read included) and its import against
COPY; this one measures the format modules.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import io
import json
import os
import random
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from xml.parsers import expat

import numpy as np
from sqlalchemy import text

from bench.scratch import SERVER_URL, scratch_postgres
from domain.accounts.users import Role, create_user, viewer_of
from domain.core.errors import BadUserInput
from domain.core.runtime import Runtime
from domain.objects.transfer import imports as annotation_import
from domain.objects.transfer.formats import registry
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
    image_file_name,
)
from persistence.engine import is_sqlite
from persistence.migrate import upgrade
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.settings import load_settings

EPISODES = 50
FRAMES = 1000  # per episode: 2 boxes a frame
TRACK = 300  # frames per track
CAMERA = "front"
WIDTH, HEIGHT = 320, 240
LABELS = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
COCO_TARGET = 1.5  # the aim for COCO's export ratio (it measured 3.3x)
IMPORTED = (ExportFormat.CVAT, ExportFormat.MOT)
EXPORTED = (
    ExportFormat.COCO,
    ExportFormat.YOLO,
    ExportFormat.VOC,
    ExportFormat.CVAT,
    ExportFormat.MOT,
    ExportFormat.ANNOGRAPH,
)
NAMES = {ExportFormat.CVAT: "CVAT for video 1.1 XML", ExportFormat.MOT: "MOT 1.1"}


def annotation_set(episodes: int, frames: int) -> AnnotationSet:
    """`episodes` x `frames` frames of one camera with 2 boxes each: the set every figure starts from."""
    rng = random.Random(0)
    images: list[ImageEntry] = []
    boxes: list[BoxEntry] = []
    for episode in range(episodes):
        for frame in range(frames):
            image = ImageEntry(image_file_name(episode, CAMERA, frame), episode, CAMERA, frame, WIDTH, HEIGHT)
            images.append(image)
            for slot in range(2):
                track = slot + 2 * (frame // TRACK) + 1
                w, h = rng.uniform(10, 80), rng.uniform(20, 120)
                boxes.append(
                    BoxEntry(
                        image.file_name,
                        LABELS[(track - 1) % len(LABELS)],
                        rng.uniform(0, WIDTH - w),
                        rng.uniform(0, HEIGHT - h),
                        w,
                        h,
                        str(track),
                        source="MANUAL",
                    )
                )
    return AnnotationSet(
        labels=[LabelEntry(name) for name in LABELS],
        images=images,
        boxes=boxes,
        dataset={"name": "bench", "fps": 30.0},
        video_lengths={(episode, CAMERA): frames for episode in range(episodes)},
    )


def written(fmt: ExportFormat, data: AnnotationSet) -> dict[str, bytes]:
    """The members the format's writer adds, by path."""
    files: dict[str, bytes] = {}
    registry.writer(fmt).write(data, files.__setitem__)
    return files


def _zip() -> zipfile.ZipFile:
    # As exports.write_zip opens its zip (into memory here: the disk is not what is measured).
    return zipfile.ZipFile(io.BytesIO(), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- Export ----------------------------------------------------------------------------------------------


def _dump_json(document: object) -> bytes:
    # The encoder and settings coco.py and annograph_json.py write with.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encoded(path: str, content: object) -> bytes:
    """A member held in memory (a JSON document, or a text file's lines) as the writer's bytes."""
    if path.endswith(".json"):
        return _dump_json(content)
    return "".join(content).encode()  # type: ignore[call-overload]


def in_memory(files: Mapping[str, bytes]) -> list[tuple[str, object]]:
    """The writer's members as a writer holds them before encoding: (path, a JSON document as dicts and
    lists, or a text file as a list of lines). AssertionError unless `encoded` gives the same bytes back."""
    built: list[tuple[str, object]] = []
    for path, content in files.items():
        held = json.loads(content) if path.endswith(".json") else content.decode().splitlines(keepends=True)
        if encoded(path, held) != content:
            raise AssertionError(f"the reference does not write {path} as the writer does")
        built.append((path, held))
    return built


def write_from_memory(built: list[tuple[str, object]]) -> None:
    with _zip() as zf:
        for path, content in built:
            zf.writestr(path, encoded(path, content))


def write_with_module(fmt: ExportFormat, data: AnnotationSet) -> None:
    with _zip() as zf:
        registry.writer(fmt).write(data, zf.writestr)


# --- Import ----------------------------------------------------------------------------------------------


def parse_cvat(files: Mapping[str, bytes]) -> list[tuple]:
    """Every <box> of the XML files as (track id, label, frame, xtl, ytl, xbr, ybr, outside, occluded,
    keyframe), typed: expat, one Python call per element."""
    boxes: list[tuple] = []
    append = boxes.append
    for path, content in files.items():
        if not path.endswith(".xml"):
            continue
        track = ["", ""]

        def start(tag: str, a: dict[str, str], track: list[str] = track) -> None:
            if tag == "box":
                append(
                    (
                        track[0],
                        track[1],
                        int(a["frame"]),
                        float(a["xtl"]),
                        float(a["ytl"]),
                        float(a["xbr"]),
                        float(a["ybr"]),
                        a["outside"] == "1",
                        a["occluded"] == "1",
                        a["keyframe"] == "1",
                    )
                )
            elif tag == "track":
                track[0], track[1] = a["id"], a["label"]

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = start
        parser.Parse(content, True)
    return boxes


def _gt_files(files: Mapping[str, bytes]) -> list[bytes]:
    return [content for path, content in files.items() if path.endswith("gt/gt.txt")]


def parse_mot(files: Mapping[str, bytes]) -> list[tuple]:
    """Every gt.txt row as (frame, track, x, y, w, h, not_ignored, class, visibility), typed: csv."""
    rows: list[tuple] = []
    append = rows.append
    for content in _gt_files(files):
        for r in csv.reader(io.StringIO(content.decode())):
            append(
                (
                    int(r[0]),
                    int(r[1]),
                    float(r[2]),
                    float(r[3]),
                    float(r[4]),
                    float(r[5]),
                    int(r[6]),
                    int(r[7]),
                    float(r[8]),
                )
            )
    return rows


def load_mot(files: Mapping[str, bytes]) -> list[np.ndarray]:
    """Every gt.txt as a float array: numpy.loadtxt."""
    return [np.loadtxt(io.BytesIO(content), delimiter=",", ndmin=2) for content in _gt_files(files)]


PARSERS: dict[ExportFormat, Callable[[Mapping[str, bytes]], list]] = {
    ExportFormat.CVAT: parse_cvat,
    ExportFormat.MOT: parse_mot,
}


def read_with_module(fmt: ExportFormat, files: Mapping[str, bytes]) -> AnnotationSet:
    return registry.reader(fmt).read(files, lambda name: None)


def zipped(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path, content in files.items():
            zf.writestr(path, content)
    return buffer.getvalue()


class ImportService:
    """importAnnotations' domain service on a scratch database: a dataset of the bench's episodes and labels,
    which each `run` fills and empties again (outside the time)."""

    def __init__(self, rt: Runtime, where: str, episodes: int, frames: int) -> None:
        self.rt, self.where, self.episodes, self.frames = rt, where, episodes, frames
        self.refused: str | None = None  # why the service took no file, once it refused one

    async def seed(self) -> None:
        async with self.rt.sessions() as session, session.begin():
            dataset = await datasets_repo.upsert_dataset(
                session,
                "/bench/annotation_formats",
                name="annotation-formats",
                format="HDF5",
                fps=30.0,
                cameras=[CAMERA],
                joint_names=[],
                features={},
                episode_count=self.episodes,
                frame_count=self.episodes * self.frames,
            )
            await episodes_repo.replace_episodes(
                session,
                dataset.id,
                [
                    dict(
                        index=i,
                        file=f"episodes/episode_{i:06d}.hdf5",
                        length=self.frames,
                        duration=self.frames / 30,
                        task_index=None,
                        cameras={CAMERA: [self.frames, HEIGHT, WIDTH]},
                        missing=[],
                        file_size=1,
                        file_mtime=0.0,
                    )
                    for i in range(self.episodes)
                ],
            )
            await labels_repo.insert_labels(
                session, [{"dataset_id": dataset.id, "name": n, "color": "#808080"} for n in LABELS]
            )
        self.dataset_id = dataset.id
        self.viewer = viewer_of(await create_user(self.rt, "bench-importer", Role.ADMIN))

    async def run(self, fmt: ExportFormat, content: bytes, boxes: int) -> float | None:
        """Seconds to import the zip, or None when the service refuses it (the reason in `refused`)."""
        request = annotation_import.ImportRequest(
            dataset_id=self.dataset_id,
            file_name=f"annotations_{fmt.value.lower()}.zip",
            content=content,
            format=fmt,
        )
        start = time.perf_counter()
        try:
            summary = await annotation_import.import_annotations(self.rt, self.viewer, request)
        except BadUserInput as exc:
            self.refused = exc.message
            return None
        seconds = time.perf_counter() - start
        if summary.boxes != boxes:
            raise AssertionError(f"{fmt.value}: the service imported {summary.boxes} boxes of {boxes}")
        async with self.rt.engine.begin() as connection:
            await connection.execute(text("DELETE FROM object_annotation"))
        return seconds


# --- The run ---------------------------------------------------------------------------------------------


def _ratio(subject: float, reference: float) -> str:
    return f"{subject / reference:6.2f}x" if reference > 0 else "   n/a"


async def measure(episodes: int, frames: int, runs: int, service: ImportService) -> dict[tuple, float]:
    """The median seconds of every case, run after run with the cases interleaved: {(what, format): s}.
    No ("service", format) case when the service refuses the files (`service.refused` says why)."""
    data = annotation_set(episodes, frames)
    boxes = len(data.boxes)
    exports = {fmt: in_memory(written(fmt, data)) for fmt in EXPORTED}
    imports = {fmt: written(fmt, data) for fmt in IMPORTED}
    for fmt, files in imports.items():  # what the bench reads is the whole set, in both ways
        if len(read_with_module(fmt, files).boxes) != boxes or len(PARSERS[fmt](files)) != boxes:
            raise AssertionError(f"{fmt.value}: the file does not hold the {boxes} boxes")
    archives = {fmt: zipped(files) for fmt, files in imports.items()}
    # The inputs above (the set, the files, the documents held for the references) stay for the whole run:
    # frozen, so that a collection a timed call triggers walks only what that call made, as in a server,
    # which holds none of them (unfrozen, they slowed COCO's write by about a third here).
    gc.collect()
    gc.freeze()
    samples: dict[tuple, list[float]] = {}

    def add(case: tuple, seconds: float | None) -> None:
        if seconds is not None:
            samples.setdefault(case, []).append(seconds)

    for _ in range(runs):
        for fmt, files in imports.items():
            add(("read", fmt), _seconds(lambda: read_with_module(fmt, files)))  # noqa: B023 (called at once)
            add(("parse", fmt), _seconds(lambda: PARSERS[fmt](files)))  # noqa: B023
            if fmt is ExportFormat.MOT:
                add(("loadtxt", fmt), _seconds(lambda: load_mot(files)))  # noqa: B023
            if service.refused is None:
                add(("service", fmt), await service.run(fmt, archives[fmt], boxes))
        for fmt in EXPORTED:
            add(("write", fmt), _seconds(lambda: write_with_module(fmt, data)))  # noqa: B023
            add(("memory", fmt), _seconds(lambda: write_from_memory(exports[fmt])))  # noqa: B023
    gc.unfreeze()
    return {case: statistics.median(values) for case, values in samples.items()}


def report(
    figures: dict[tuple, float], boxes: int, episodes: int, frames: int, runs: int, service: ImportService
) -> None:
    print(
        f"Annotation formats: {boxes:,} boxes ({episodes} episodes x {frames} frames x 2, tracks of {TRACK} "
        f"frames, {len(LABELS)} labels), median of {runs} interleaved run(s)"
    )
    print(f"  {'import':<40}{'subject':>9}   {'parse alone':>13}   {'ratio':>7}")
    rows = []
    for fmt in IMPORTED:
        parse = figures[("parse", fmt)]
        alone = "expat" if fmt is ExportFormat.CVAT else "csv"
        extra = ""
        if ("loadtxt", fmt) in figures:
            loaded = figures[("loadtxt", fmt)]
            extra = f"   (numpy.loadtxt {loaded:.2f} s: {_ratio(figures[('read', fmt)], loaded).strip()})"
        rows.append((f"{NAMES[fmt]}, read", figures[("read", fmt)], alone, parse, extra))
        if ("service", fmt) in figures:
            label = f"{fmt.value}, import service ({service.where})"
            rows.append((label, figures[("service", fmt)], alone, parse, ""))
    for label, seconds, alone, parse, extra in rows:
        print(f"    {label:<38}{seconds:7.2f} s   {alone:<5}{parse:6.2f} s   {_ratio(seconds, parse)}{extra}")
    if service.refused is not None:
        print(f"    import service ({service.where}): not measured, it refuses the file: {service.refused}")
    print(f"  {'export (into a zip)':<40}{'write':>9}   {'from memory':>13}   {'ratio':>7}")
    for fmt in EXPORTED:
        write, memory = figures[("write", fmt)], figures[("memory", fmt)]
        target = ""
        if fmt is ExportFormat.COCO:
            verdict = "met" if memory > 0 and write / memory <= COCO_TARGET else "not met"
            target = f"   target {COCO_TARGET}x: {verdict} (the issue measured 3.3x)"
        print(f"    {fmt.value:<38}{write:7.2f} s        {memory:6.2f} s   {_ratio(write, memory)}{target}")


async def _with_service(url: str, var_dir: Path, episodes: int, frames: int, runs: int) -> None:
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url))
    await rt.start()
    try:
        service = ImportService(rt, "SQLite" if is_sqlite(url) else "PostgreSQL", episodes, frames)
        await service.seed()
        figures = await measure(episodes, frames, runs, service)
        report(figures, episodes * frames * 2, episodes, frames, runs, service)
    finally:
        await rt.stop()


def run(episodes: int = EPISODES, frames: int = FRAMES, runs: int = 3, server_url: str = SERVER_URL) -> None:
    """Measure and print; the import service on a scratch PostgreSQL database (SQLite when none answers)."""
    with (
        tempfile.TemporaryDirectory(prefix="annograph-bench-") as tmp,
        scratch_postgres(server_url) as pg_url,
    ):
        url = pg_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(_with_service(url, Path(tmp), episodes, frames, runs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=EPISODES)
    parser.add_argument("--frames", type=int, default=FRAMES, help="per episode (2 boxes a frame)")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is printed")
    args = parser.parse_args(argv)
    run(args.episodes, args.frames, args.runs)


if __name__ == "__main__":
    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    main()
