"""dataset.statistics on a large generated dataset (1,000,000 boxes by default), on PostgreSQL (a scratch
database) and on SQLite, against a reference that loads the same boxes into numpy and counts there.

annograph: domain.datasets.statistics.dataset_statistics (the GROUP BY statements, then assembly).
reference: SELECT the boxes' columns with the plain driver (asyncpg / sqlite3) into numpy arrays, then the
same counts with numpy (the reference's load and its counting are also shown apart). The two
answers are compared before anything is printed. Runs alternate (annograph, reference, ...); medians.

    .venv/bin/python -m bench.statistics [--boxes 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import insert

from bench.scratch import scratch_postgres
from domain.accounts.users import Role, create_user
from domain.core.runtime import Runtime
from domain.datasets import statistics as stats
from persistence.columns import utcnow
from persistence.engine import StatementCounter, is_sqlite
from persistence.migrate import upgrade
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.settings import load_settings
from persistence.tables import ObjectAnnotationRow

EPISODES, FRAMES, CAMERAS = 100, 3000, ("front", "side")
LABELS = ("pedestrian", "cyclist", "car", "truck", "dog")
SOURCES, REVIEWS = ("MANUAL", "MODEL", "IMPORTED", "INTERPOLATED"), ("PENDING", "VALIDATED", "REJECTED")
COLUMNS = "episode_id, camera, frame, width, height, label_id, track_id, source, review, created_by"


async def seed(rt: Runtime, boxes: int) -> int:
    """A dataset of EPISODES episodes x 2 cameras; tracks of 20-180 boxes on consecutive frames, random
    label, source, review state, creator (3 users) and size (log-normal sides, px)."""
    users = [(await create_user(rt, f"bench-{i}", Role.ANNOTATOR)).id for i in range(3)]
    rng = np.random.default_rng(0)
    async with rt.sessions() as session, session.begin():
        dataset = await datasets_repo.upsert_dataset(
            session, "/bench/statistics", name="statistics", format="HDF5", fps=30.0, cameras=list(CAMERAS),
            joint_names=[], features={}, episode_count=EPISODES, frame_count=EPISODES * FRAMES,
        )  # fmt: skip
        shape = [FRAMES, 480, 640]
        await episodes_repo.replace_episodes(
            session,
            dataset.id,
            [
                dict(index=i, file=f"e{i}.hdf5", length=FRAMES, duration=FRAMES / 30, task_index=None,
                     cameras={c: shape for c in CAMERAS}, missing=[], file_size=1, file_mtime=0.0)
                for i in range(EPISODES)
            ],
        )  # fmt: skip
        labels = await labels_repo.insert_labels(
            session, [{"dataset_id": dataset.id, "name": n, "color": "#808080"} for n in LABELS]
        )
        episodes = (
            await episodes_repo.list_episode_pages(
                session, [dataset.id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=EPISODES
            )
        )[dataset.id]
        now, table, rows = utcnow(), ObjectAnnotationRow.__table__, []
        track = 0
        while len(rows) < boxes:
            e = episodes[track % EPISODES].id
            camera = CAMERAS[track % 2]
            length = int(min(rng.integers(20, 181), boxes - len(rows)))
            first = int(rng.integers(0, FRAMES - length))
            label, source = labels[int(rng.integers(len(labels)))].id, SOURCES[int(rng.integers(4))]
            user = users[int(rng.integers(3))]
            w, h = np.exp(rng.normal(3.5, 1.0, 2)).clip(1, 600)
            for f in range(first, first + length):
                rows.append(
                    dict(episode_id=e, camera=camera, frame=f, x=0.0, y=0.0, width=float(w), height=float(h),
                         label_id=label, track_id=f"T{track}", source=source, review=REVIEWS[f % 3],
                         created_by=user, occluded=False, truncated=False, difficult=False, outside=False,
                         keyframe=True, version=1, created_at=now, updated_at=now)
                )  # fmt: skip
            track += 1
            if len(rows) >= 50_000 or len(rows) >= boxes:
                await session.execute(insert(table), rows)
                boxes, rows = boxes - len(rows), []
    return dataset.id


async def reference_rows(url: str, dataset_id: int) -> list[tuple]:
    query = (
        f"SELECT {COLUMNS} FROM object_annotation WHERE NOT outside AND episode_id IN "
        f"(SELECT id FROM episode WHERE dataset_id = {dataset_id})"
    )
    if is_sqlite(url):
        with sqlite3.connect(url.split("///", 1)[1]) as connection:
            return connection.execute(query).fetchall()
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return [tuple(r) for r in await connection.fetch(query)]
    finally:
        await connection.close()


def _counts(values: np.ndarray) -> dict:
    keys, n = np.unique(values, return_counts=True)
    return {k.item() if isinstance(k, np.generic) else k: int(c) for k, c in zip(keys, n, strict=True)}


def reference_counts(rows: list[tuple]) -> dict:
    """The counts statistics give, with numpy over every box (keys of several columns made one int64)."""
    episode, camera, frame, width, height, label, track, source, review, user = (
        np.asarray(column) for column in zip(*rows, strict=True)
    )
    width, height = width.astype(np.float64), height.astype(np.float64)
    cameras, camera_code = np.unique(camera, return_inverse=True)
    _, track_code = np.unique(track, return_inverse=True)
    episode = episode.astype(np.int64)
    track_key = (episode * len(cameras) + camera_code) * (track_code.max() + 1) + track_code
    lengths = np.unique(track_key, return_counts=True)[1]
    frame_key = (episode * len(cameras) + camera_code) * (frame.astype(np.int64).max() + 1) + frame
    first = np.unique(frame_key, return_index=True)[1]
    sides = np.asarray(stats.SIDE_EDGES)
    return {
        "boxes": len(rows),
        "label": _counts(label),
        "camera": _counts(camera),
        "source": _counts(source),
        "review": _counts(review),
        "annotator": _counts(user),
        "size": np.histogram(width * height, np.asarray(stats.SIZE_EDGES))[0].tolist(),
        "width": np.histogram(width, sides)[0].tolist(),
        "height": np.histogram(height, sides)[0].tolist(),
        "tracks": len(lengths),
        "median": float(np.median(lengths)),
        "with_boxes": {cameras[c].item(): int(n) for c, n in _counts(camera_code[first]).items()},
    }


def check_equal(s: stats.Statistics, ref: dict, label_names: dict[int, str]) -> None:
    assert s.boxes == ref["boxes"], (s.boxes, ref["boxes"])
    assert s.by_label == {label_names[k]: v for k, v in ref["label"].items()}
    assert s.by_camera == ref["camera"] and s.by_source == ref["source"] and s.by_review == ref["review"]
    assert s.by_annotator == ref["annotator"]
    assert list(s.by_size.values()) == ref["size"]
    assert [b.count for b in s.widths] == ref["width"] and [b.count for b in s.heights] == ref["height"]
    assert s.track_lengths.tracks == ref["tracks"] and s.track_lengths.median == ref["median"]
    assert {c.camera: c.with_boxes for c in s.frames_without_boxes} == ref["with_boxes"]


async def measure(url: str, var_dir: Path, boxes: int, runs: int) -> None:
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url))
    await rt.start()
    try:
        start = time.perf_counter()
        dataset_id = await seed(rt, boxes)
        seeded = time.perf_counter() - start
        async with rt.sessions() as session:
            labels = await labels_repo.read_labels_by_datasets(session, [dataset_id])
        names = {lab.id: lab.name for lab in labels}
        ours, loads, counts = [], [], []
        for _ in range(runs):
            with StatementCounter(rt.engine) as counter:
                start = time.perf_counter()
                result = await stats.dataset_statistics(rt, dataset_id)
                ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            rows = await reference_rows(url, dataset_id)
            loads.append(time.perf_counter() - start)
            start = time.perf_counter()
            ref = reference_counts(rows)
            counts.append(time.perf_counter() - start)
            del rows
            check_equal(result, ref, names)
        a, load, count = (statistics.median(v) for v in (ours, loads, counts))
        name = "SQLite" if is_sqlite(url) else "PostgreSQL"
        print(
            f"dataset.statistics on {name}: {result.boxes:,} boxes, {EPISODES} episodes x 2 cameras, "
            f"{result.track_lengths.tracks:,} tracks (seeded in {seeded:.1f} s); median of {runs}"
        )
        print(f"  annograph (GROUP BY, {counter.count} statements)   {a:7.2f} s")
        print(
            f"  reference: load rows {load:6.2f} s + numpy {count:5.2f} s = {load + count:7.2f} s   "
            f"ratio annograph / reference {a / (load + count):5.2f}  (/ numpy alone {a / count:5.2f})"
        )
    finally:
        await rt.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boxes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.sqlite_only:
            with scratch_postgres() as pg_url:
                if pg_url:
                    upgrade(pg_url)
                    asyncio.run(measure(pg_url, Path(tmp) / "pg", args.boxes, args.runs))
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(measure(url, Path(tmp) / "sqlite", args.boxes, args.runs))


if __name__ == "__main__":
    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    main()
