"""Test-session reports (exportTestSessionReport), on PostgreSQL (SQLite with a note when PostgreSQL does
not answer): a session of 10,000 frames x 20 ground-truth boxes over 5 labels (bench.evaluation's data:
85 % of the boxes found, jittered, 3 false positives per frame, about 200,000 detections), written
straight through the repositories onto a registered dataset of 10 episodes x 1,000 frames (64 x 48
pixels, so the thumbnails read real frames).

    .venv/bin/python -m bench.reports [--episodes 10] [--frames 1000] [--boxes 20] [--runs 1]

Prints, for scale, the session's evaluation (evaluate_session: read, match, AP, bootstrap, store the
comparisons), then each format's report job (submit to COMPLETED, median of --runs, the formats
interleaved in each run) against it, and the size of each file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from bench.evaluation import HEIGHT, WIDTH, make_data
from bench.scratch import scratch_postgres
from domain.accounts.users import Role, create_user, viewer_of
from domain.core.runtime import Runtime
from domain.validation.evaluation import evaluate_session
from domain.validation.reports.data import build_report
from domain.validation.reports.html import render
from domain.validation.reports.load import load_inputs
from domain.validation.reports.service import export_test_session_report
from persistence.columns import utcnow
from persistence.documents import SessionSettings, StoredCriteria
from persistence.engine import is_sqlite
from persistence.migrate import upgrade
from persistence.repositories import detection_event as events_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import test_frame as frames_repo
from persistence.repositories import test_session as sessions_repo
from persistence.settings import load_settings
from tests.conftest import register
from tests.factories import write_dataset

LABELS = ("pedestrian", "cyclist", "car", "truck", "scooter")
SIZE = (48, 64)  # frame height, width


async def seed(rt: Runtime, dataset_id: int, frames: int, boxes: int) -> int:
    """Boxes, detections and processed frames of one RUNNING EXTERNAL session; returns its id."""
    async with rt.sessions() as session:
        episodes = sorted(await episodes_repo.list_episodes_of(session, dataset_id), key=lambda e: e.index)
    images = len(episodes) * frames
    gt, det = make_data(images, boxes, len(LABELS), seed=0)
    sx, sy = SIZE[1] / WIDTH, SIZE[0] / HEIGHT  # IoU does not change under an axis scaling
    now = utcnow()
    rng = np.random.default_rng(1)
    latencies = rng.gamma(4.0, 12.0, len(det))
    async with rt.sessions() as session, session.begin():
        labels = await labels_repo.insert_labels(
            session, [{"dataset_id": dataset_id, "name": n, "color": "#808080"} for n in LABELS]
        )
        project = await projects_repo.insert_project(
            session,
            {
                "name": "bench",
                "status": "ACTIVE",
                "labels": list(LABELS),
                "criteria": StoredCriteria(min_precision=0.8, max_p95_latency_ms=100.0),
            },
        )
        await projects_repo.link_episodes(session, project.id, [e.id for e in episodes], "bench", None)
        row = await sessions_repo.insert_test_session(
            session,
            {
                "project_id": project.id,
                "name": "bench device",
                "source": "EXTERNAL",
                "status": "RUNNING",
                "episode_ids": [e.id for e in episodes],
                "frames_total": images,
                "match_iou": 0.5,
                "tolerance_ms": 100.0,
                "settings": SessionSettings(max_detections=100),
                "criteria": project.criteria,
                "created_at": now,
                "started_at": now,
            },
        )
        values = []
        for i, (image, label, (x, y, w, h)) in enumerate(
            zip(gt.image.tolist(), gt.label.tolist(), gt.boxes.tolist(), strict=True)
        ):
            values.append(
                {
                    "episode_id": episodes[image // frames].id,
                    "camera": "front",
                    "frame": image % frames,
                    "x": x * sx,
                    "y": y * sy,
                    "width": w * sx,
                    "height": h * sy,
                    "label_id": labels[label].id,
                    "track_id": f"T{i}",
                    "occluded": False,
                    "truncated": False,
                    "difficult": False,
                    "outside": False,
                    "notes": None,
                    "source": "MANUAL",
                    "score": None,
                    "keyframe": True,
                    "version": 1,
                    "review": "VALIDATED",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(values), 5000):
            await boxes_repo.insert_boxes(session, values[start : start + 5000])
        events = [
            {
                "session_id": row.id,
                "episode_id": episodes[image // frames].id,
                "camera": "front",
                "frame": image % frames,
                "label": LABELS[label],
                "x": x * sx,
                "y": y * sy,
                "width": w * sx,
                "height": h * sy,
                "score": score,
                "sent_at": now - timedelta(milliseconds=latency),
                "received_at": now,
                "latency_ms": latency,
            }
            for image, label, (x, y, w, h), score, latency in zip(
                det.image.tolist(),
                det.label.tolist(),
                det.boxes.tolist(),
                det.scores.tolist(),
                latencies.tolist(),
                strict=True,
            )
        ]
        for start in range(0, len(events), 5000):
            await events_repo.insert_events(session, events[start : start + 5000])
        await frames_repo.record_frames(
            session,
            row.id,
            [
                {"episode_id": e.id, "camera": "front", "frame": f, "tp": 0, "fp": 0, "fn": 0}
                for e in episodes
                for f in range(frames)
            ],
        )
    return row.id


async def run(url: str, var_dir: Path, episodes: int, frames: int, boxes: int, runs: int) -> None:
    data_root = var_dir / "data"
    folder = await asyncio.to_thread(
        write_dataset, data_root / "bench", episodes=episodes, lengths=[frames] * episodes, size=SIZE
    )
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url, data_roots=[data_root]))
    await rt.start()
    try:
        dataset_id = await register(rt, folder)
        session_id = await seed(rt, dataset_id, frames, boxes)
        start = time.perf_counter()
        evaluated = await evaluate_session(rt, session_id, stopped=False)
        evaluation_s = time.perf_counter() - start
        assert evaluated.metrics is not None
        m = evaluated.metrics
        viewer = viewer_of(await create_user(rt, "bench-reviewer", Role.REVIEWER))
        times: dict[str, list[float]] = {"HTML": [], "JSON": [], "CSV": []}
        sizes: dict[str, int] = {}
        for _ in range(runs):
            for fmt in times:
                start = time.perf_counter()
                job = await export_test_session_report(rt, viewer, session_id, fmt)
                done = await rt.jobs.wait(job.id)
                times[fmt].append(time.perf_counter() - start)
                assert done.status == "COMPLETED", (done.error_code, done.error_message)
                assert done.summary is not None
                sizes[fmt] = int(done.summary.model_dump()["bytes"])
        # where the time goes, measured once in this process (the job's steps, without the job)
        start = time.perf_counter()
        inputs = await load_inputs(rt, session_id)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        numbers = await asyncio.to_thread(build_report, inputs)
        numbers_s = time.perf_counter() - start
        start = time.perf_counter()
        await asyncio.to_thread(
            render,
            numbers,
            [None] * len(numbers["worstFalsePositives"]),
            [None] * len(numbers["worstMisses"]),
        )
        render_s = time.perf_counter() - start
        name = "SQLite" if is_sqlite(url) else "PostgreSQL"
        print(
            f"Test-session report on {name}: {m.frames:,} frames ({episodes} episodes x {frames}), "
            f"{m.ground_truth:,} boxes, {m.detections:,} detections, {len(LABELS)} labels"
        )
        print(f"  {'':34s} {'seconds':>8s} {'x evaluation':>13s} {'file':>10s}")
        print(f"  {'evaluation (evaluate_session)':34s} {evaluation_s:8.2f} {1.0:12.2f}x")
        for fmt, samples in times.items():
            seconds = statistics.median(samples)
            print(
                f"  {'report ' + fmt + ' (job, submit to done)':34s} {seconds:8.2f} "
                f"{seconds / evaluation_s:12.2f}x {sizes[fmt] / 1e6:7.2f} MB"
            )
        print(
            f"  steps: read {load_s:.2f} s ({len(inputs.comparisons):,} comparisons), numbers "
            f"{numbers_s:.2f} s, plots and HTML {render_s:.2f} s"
        )
    finally:
        await rt.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--frames", type=int, default=1000, help="frames per episode")
    parser.add_argument("--boxes", type=int, default=20, help="ground-truth boxes per frame")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as pg_url:
        url = pg_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(run(url, Path(tmp), args.episodes, args.frames, args.boxes, args.runs))


if __name__ == "__main__":
    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    main()
