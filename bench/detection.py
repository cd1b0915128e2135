"""Detection frames per second through a detectObjects job against calling Ultralytics `predict` on the
same frames in a loop in one process: the ratio is the overhead of the service.

    YOLO_OFFLINE=1 .venv/bin/python -m bench.detection [--frames 256] [--imgsz 320] [--database-url URL]

One episode of `--frames` frames of 240 x 320 from one camera, in a temporary folder, registered and
indexed as the service does it; SQLite in that folder unless `--database-url` names another database
(a PostgreSQL one has its schema dropped and migrated again). The model is an untrained yolo11n built
offline whose class biases make it report 'person' and 'car' everywhere (tests/graph/model_setup.py),
saved as confident.pt in the runtime's models folder.

The job runs as the service runs it (detect_objects, the process pool, batches of 16, the boxes stored
in one transaction at the end), timed from submit to completion; twice, the first paying for spawning
the worker processes and loading the model in each. The reference, in this process once the service has
stopped: read the same frames with h5py per batch of 16, RGB -> BGR, `predict` with the same settings,
timed after one warm-up batch.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from tests.graph.model_setup import build_confident_checkpoint

BATCH = 16  # as domain.detection.service batches
SIZE = (240, 320)
SCORE_THRESHOLD, NMS_IOU = 0.25, 0.7


async def service(url: str, var_dir: Path, folder: Path, imgsz: int) -> tuple[list[tuple[float, int]], Path]:
    """(seconds, boxes) of each of two detectObjects jobs over the whole episode; the checkpoint's path."""
    from sqlalchemy import select

    from domain.accounts.users import Role, create_user, viewer_of
    from domain.core.runtime import Runtime
    from domain.datasets.service import register_dataset
    from domain.detection.service import DetectRequest, detect_objects
    from domain.objects.labels import create_label
    from persistence.settings import load_settings
    from persistence.tables import EpisodeRow

    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url, data_roots=[folder.parent]))
    checkpoint = await asyncio.to_thread(build_confident_checkpoint, rt.settings.models_dir / "confident.pt")
    await rt.start()
    try:
        indexed = await rt.jobs.wait((await register_dataset(rt, str(folder))).id)
        assert indexed.status == "COMPLETED", (indexed.error_code, indexed.error_message)
        async with rt.sessions() as session:
            query = select(EpisodeRow.id).where(EpisodeRow.dataset_id == indexed.dataset_id)
            episode_id = (await session.execute(query)).scalar_one()
        for name in ("person", "car"):
            await create_label(rt, indexed.dataset_id, name, None, None)
        viewer = viewer_of(await create_user(rt, "bench", Role.ADMIN))
        request = DetectRequest(
            episode_id=episode_id,
            camera="front",
            model="confident.pt",
            frame_stride=1,
            score_threshold=SCORE_THRESHOLD,
            nms_iou=NMS_IOU,
            image_size=imgsz,
            class_map={"person": "person", "car": "car"},
        )
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            job = await detect_objects(rt, viewer, request)
            done = await rt.jobs.wait(job.id)
            seconds = time.perf_counter() - start
            assert done.status == "COMPLETED", (done.error_code, done.error_message)
            assert done.summary is not None  # a completed detection's
            runs.append((seconds, done.summary.stored()["boxes"]))
        return runs, checkpoint
    finally:
        await rt.stop()


def reference(checkpoint: Path, path: Path, frames: int, imgsz: int) -> tuple[float, int]:
    """Seconds and boxes of predict over every frame, a batch of 16 at a time, after one warm-up batch."""
    from ultralytics import YOLO

    model = YOLO(str(checkpoint))
    options = {"conf": SCORE_THRESHOLD, "iou": NMS_IOU, "imgsz": imgsz, "verbose": False}

    def read(start: int) -> list[np.ndarray]:
        with h5py.File(path, "r") as f:
            stream = f["observation.images.front"]
            # Ultralytics takes BGR, as OpenCV does; the episode stores RGB.
            last = min(start + BATCH, frames)
            return [np.ascontiguousarray(stream[i][..., ::-1]) for i in range(start, last)]

    model.predict(read(0), **options)  # warm-up: the predictor is set up on the first call
    boxes = 0
    start = time.perf_counter()
    for first in range(0, frames, BATCH):
        boxes += sum(len(r.boxes) for r in model.predict(read(first), **options))
    return time.perf_counter() - start, boxes


def run(frames: int, imgsz: int, database_url: str | None) -> None:
    from bench.statements import reset_postgres
    from persistence.engine import is_sqlite
    from persistence.migrate import upgrade
    from tests.factories import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(
            Path(tmp) / "datasets" / "bench", lengths=[frames], cameras=("front",), size=SIZE, name="bench"
        )
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        if not is_sqlite(url):
            asyncio.run(reset_postgres(url))
        upgrade(url)
        runs, checkpoint = asyncio.run(service(url, Path(tmp), folder, imgsz))
        ref_s, ref_boxes = reference(checkpoint, folder / "episodes" / "episode_000000.hdf5", frames, imgsz)
    (first_s, first_boxes), (job_s, job_boxes) = runs
    where = "SQLite" if is_sqlite(url) else "PostgreSQL"
    print(
        f"object detection, {frames} frames of {SIZE[0]} x {SIZE[1]}, imgsz {imgsz}, "
        f"batches of {BATCH}, {where}"
    )
    print(f"  {'':<40}{'seconds':>9}{'frames/s':>10}{'boxes':>8}")
    for what, seconds, boxes in (
        ("detectObjects job, first (spawn, load)", first_s, first_boxes),
        ("detectObjects job, second", job_s, job_boxes),
        ("predict loop, 1 process (h5py read)", ref_s, ref_boxes),
    ):
        print(f"  {what:<40}{seconds:9.2f}{frames / seconds:10.1f}{boxes:8d}")
    print(f"  ratio service / reference (frames/s, second job): {ref_s / job_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    run(args.frames, args.imgsz, args.database_url)


if __name__ == "__main__":
    import logging
    import os

    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    main()
