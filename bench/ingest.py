"""Detection events ingested per second on PostgreSQL: ingestDetectionEvents over HTTP, as a device under
test sends them, against asyncpg's copy_records_to_table of the same rows; then the final evaluation.

    .venv/bin/python -m bench.ingest [--events 40000] [--batch 500] [--bulk-batch 5000] [--episodes 4]
        [--frames 500]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/mine]

Without `--database-url` it measures on a new database it drops afterwards (bench/scratch.py); a
database named with `--database-url` has its schema dropped and migrated again. Setup: a dataset of 4
episodes x 500 frames of 48 x 64 (one camera), registered and indexed as the service does it; labels
'pedestrian' and 'vehicle'; 20 validated boxes on every frame (ground truth, inserted directly); a
project linking the episodes and a RUNNING EXTERNAL test session. The device's events are one detection
per ground-truth box, jittered around it, with the box's label, a score and `sentAt` set when the batch
is sent.

The service runs as `annograph serve` in its own process (bench/harness.py serving), as it is deployed:
in this one the events and rows the clients send would be live objects every garbage collection of the
service walks (a full collection with them took 200-300 ms, one request in four). Clients post
batches with a Bearer API token, one after the other (one client) or with 4 concurrent clients, as
`ingestDetectionEvents` (one input object per event, batches of `--batch`) or as
`ingestDetectionEventColumns` (one JSON array per field; batches of `--batch` and of `--bulk-batch`).
ROUNDS interleaved rounds, each: the reference, then every pass; each pass starts with the session's
events and frames deleted, so all store the same rows into the same tables; the last pass's rows stay
for the final evaluation. The best time of each over the rounds is printed. The reference: the same
rows (as the service stores them) copied into detection_event with copy_records_to_table on one
connection, timed, then deleted. Finally stopTestSession's evaluation: its time, frames and detections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text

from persistence.repositories.detection_event import EVENT_COLUMNS

PER_FRAME = 20  # ground-truth boxes, and detections, per frame
CLIENTS = 4
SIZE = (48, 64)
LABELS = ("pedestrian", "vehicle")
MUTATION = (
    "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
)
COLUMNS_MUTATION = "mutation($s: ID!, $c: JSON!) { ingestDetectionEventColumns(sessionId: $s, columns: $c) }"
FIELDS = ("episodeId", "camera", "frame", "label", "x", "y", "width", "height", "score")
ROUNDS = 2


def ground_truth(episode_ids: list[int], frames: int) -> list[tuple]:
    """(episode, frame, label, x, y, w, h): 20 boxes per frame on a 5 x 4 grid of the 64 x 48 image."""
    rng = random.Random(0)
    height, width = SIZE
    cell_w, cell_h = width / 5, height / 4
    boxes = []
    for episode_id in episode_ids:
        for frame in range(frames):
            for slot in range(PER_FRAME):
                col, row = slot % 5, slot // 5
                w, h = rng.uniform(0.6, 0.9) * cell_w, rng.uniform(0.6, 0.9) * cell_h
                x = col * cell_w + rng.uniform(0, cell_w - w)
                y = row * cell_h + rng.uniform(0, cell_h - h)
                boxes.append((episode_id, frame, LABELS[slot % 2], x, y, w, h))
    return boxes


def detections(boxes, events: int) -> list[dict]:
    """One detection per ground-truth box, jittered by up to 5 % of its size, with a score."""
    from strawberry.relay import to_base64

    rng = random.Random(1)
    gids: dict[int, str] = {}
    out = []
    for episode_id, frame, label, x, y, w, h in boxes[:events]:
        gid = gids.setdefault(episode_id, to_base64("Episode", episode_id))
        out.append(
            {
                "episodeId": gid,
                "camera": "front",
                "frame": frame,
                "label": label,
                "x": round(x + rng.uniform(-0.05, 0.05) * w, 2),
                "y": round(y + rng.uniform(-0.05, 0.05) * h, 2),
                "width": round(w * rng.uniform(0.95, 1.05), 2),
                "height": round(h * rng.uniform(0.95, 1.05), 2),
                "score": round(rng.uniform(0.3, 1.0), 3),
            }
        )
    return out


async def seed(rt, folder: Path, frames: int):
    """Dataset, labels, validated ground truth, project and a RUNNING EXTERNAL session: (viewer, user id,
    session id, ground-truth boxes)."""
    from sqlalchemy import select

    from domain.accounts.users import Role, create_user, viewer_of
    from domain.datasets.service import register_dataset
    from domain.objects.labels import create_label
    from domain.validation.projects import Criteria, NewProject, create_project, link_episodes
    from domain.validation.test_sessions import (
        NewTestSession,
        TestSource,
        create_test_session,
        start_test_session,
    )
    from persistence.columns import utcnow
    from persistence.engine import refresh_after_load
    from persistence.repositories import object_annotation as boxes_repo
    from persistence.tables import EpisodeRow

    indexed = await rt.jobs.wait((await register_dataset(rt, str(folder))).id)
    assert indexed.status == "COMPLETED", (indexed.error_code, indexed.error_message)
    user = await create_user(rt, "bench", Role.ADMIN)
    viewer = viewer_of(user)
    labels = {name: (await create_label(rt, indexed.dataset_id, name, None, None)).id for name in LABELS}
    async with rt.sessions() as session:
        episode_ids = list(
            (
                await session.execute(
                    select(EpisodeRow.id)
                    .where(EpisodeRow.dataset_id == indexed.dataset_id)
                    .order_by(EpisodeRow.index)
                )
            ).scalars()
        )
    boxes = ground_truth(episode_ids, frames)
    now = utcnow()
    values = [
        {
            "episode_id": episode_id,
            "camera": "front",
            "frame": frame,
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "label_id": labels[label],
            "track_id": f"T{n % PER_FRAME}",
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
            "reviewed_by": user.id,
            "reviewed_at": now,
            "created_by": user.id,
            "created_at": now,
            "updated_by": user.id,
            "updated_at": now,
        }
        for n, (episode_id, frame, label, x, y, w, h) in enumerate(boxes)
    ]
    async with rt.sessions() as session, session.begin():
        for start in range(0, len(values), 5000):
            await boxes_repo.insert_boxes(session, values[start : start + 5000])
        # As an import of this size does (domain/objects/transfer/imports.py).
        await refresh_after_load(session, "object_annotation", len(values))
    project = await create_project(rt, viewer, NewProject("bench ingest", None, list(LABELS), Criteria()))
    await link_episodes(rt, viewer, project.id, episode_ids, None)
    row = await create_test_session(
        rt, viewer, NewTestSession(project_id=project.id, name="device", source=TestSource.EXTERNAL)
    )
    await start_test_session(rt, viewer, row.id)
    return viewer, user.id, row.id, boxes


def body_of(session_gid: str, batch: list[dict], columnar: bool) -> str:
    """The request a device sends for one batch, stamped now: one object per event
    (ingestDetectionEvents) or one array per field (ingestDetectionEventColumns)."""
    sent_at = datetime.now(UTC).isoformat()
    if columnar:
        columns: dict[str, list] = {f: [e[f] for e in batch] for f in FIELDS}
        columns["sentAt"] = [sent_at] * len(batch)
        return json.dumps({"query": COLUMNS_MUTATION, "variables": {"s": session_gid, "c": columns}})
    events = [{**e, "sentAt": sent_at} for e in batch]
    return json.dumps({"query": MUTATION, "variables": {"s": session_gid, "e": events}})


async def post_batches(
    address: str, token: str, session_gid: str, batches: list[list[dict]], clients: int, columnar: bool
):
    """Seconds to post every batch with `clients` concurrent clients (each its own connection)."""
    queue = list(reversed(batches))
    stored = 0

    async def client_loop() -> None:
        nonlocal stored
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=f"http://{address}", headers=headers, timeout=120) as client:
            await client.post("/graphql", content=json.dumps({"query": "{ viewer { name } }"}))
            await ready.wait()
            while queue:
                body = body_of(session_gid, queue.pop(), columnar)
                answer = (await client.post("/graphql", content=body)).json()
                assert "errors" not in answer, answer["errors"][:1]
                stored += next(iter(answer["data"].values()))

    ready = asyncio.Event()
    tasks = [asyncio.create_task(client_loop()) for _ in range(clients)]
    await asyncio.sleep(0.5)  # connections open and the token verified before the clock
    start = time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    assert stored == sum(len(b) for b in batches), stored
    return seconds


async def copy_reference(url: str, rows: list[tuple]) -> float:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        start = time.perf_counter()
        await connection.copy_records_to_table("detection_event", records=rows, columns=EVENT_COLUMNS)
        return time.perf_counter() - start
    finally:
        await connection.execute("DELETE FROM detection_event WHERE session_id = $1", rows[0][0])
        await connection.close()


async def clear_session(rt, session_id: int) -> None:
    async with rt.engine.begin() as connection:
        for table in ("detection_event", "test_frame"):
            await connection.execute(text(f"DELETE FROM {table} WHERE session_id = :s"), {"s": session_id})


async def run(url: str, var_dir: Path, folder: Path, args) -> None:
    from strawberry.relay import to_base64

    from bench.harness import _free_port, serving
    from domain.accounts.tokens import issue_token
    from domain.core.runtime import Runtime
    from domain.validation.test_sessions import stop_test_session
    from persistence.settings import load_settings

    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url, data_roots=[folder.parent]))
    await rt.start()
    try:
        viewer, user_id, session_id, boxes = await seed(rt, folder, args.frames)
        events = detections(boxes, args.events)
        batches = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
        _, token = await issue_token(rt, user_id, "bench")
        session_gid = to_base64("TestSession", session_id)

        now = datetime.now(UTC)
        rows = [
            (session_id, b[0], "front", b[1], b[2], e["x"], e["y"], e["width"], e["height"], e["score"])
            + (None, None, now, now, 0.0, "NETWORK")  # the session's default signal path
            for b, e in zip(boxes, events, strict=False)
        ]
        big = [events[i : i + args.bulk_batch] for i in range(0, len(events), args.bulk_batch)]
        # What runs, interleaved: (name, batches, clients, columnar); COPY first in every round.
        passes = [
            (f"ingestDetectionEvents, {args.batch}/request, 1 client", batches, 1, False),
            (f"ingestDetectionEventColumns, {args.batch}/request, 1 client", batches, 1, True),
            (f"ingestDetectionEventColumns, {args.bulk_batch}/request, 1 client", big, 1, True),
            (f"ingestDetectionEvents, {args.batch}/request, {CLIENTS} clients", batches, CLIENTS, False),
            (f"ingestDetectionEventColumns, {args.batch}/request, {CLIENTS} clients", batches, CLIENTS, True),
        ]
        seconds: dict[str, list[float]] = {name: [] for name, *_ in passes}
        copies: list[float] = []
        port = _free_port()
        env = {
            **os.environ,
            "ANNOGRAPH_VAR_DIR": str(var_dir),
            "ANNOGRAPH_DATABASE_URL": url,
            "ANNOGRAPH_PORT": str(port),
            "ANNOGRAPH_LOG_LEVEL": "WARNING",
        }
        with serving(env, port) as (base, _pid):
            address = base.removeprefix("http://")
            for _ in range(ROUNDS):
                await clear_session(rt, session_id)
                copies.append(await copy_reference(url, rows))
                for name, chunks, clients, columnar in passes:
                    await clear_session(rt, session_id)
                    seconds[name].append(
                        await post_batches(address, token, session_gid, chunks, clients, columnar)
                    )
        start = time.perf_counter()
        ended = await stop_test_session(rt, viewer, session_id)
        evaluation_s = time.perf_counter() - start
    finally:
        await rt.stop()

    n = len(events)
    metrics = ended.metrics
    assert metrics is not None  # an evaluated session
    overall = metrics.overall
    print(
        f"detection events on PostgreSQL: {n:,} events ({PER_FRAME} per frame), batches of {args.batch}, "
        f"{args.episodes} episodes x {args.frames} frames"
    )
    copy_s = min(copies)
    print(f"  best of {ROUNDS} interleaved rounds (COPY, then each ingest pass, in every round)")
    print(f"  {'':<52}{'seconds':>9}{'events/s':>11}{'vs COPY':>9}")
    for name, times in seconds.items():
        best = min(times)
        print(f"  {name:<52}{best:9.2f}{n / best:11,.0f}{copy_s / best:8.3f}x")
    print(f"  {'asyncpg copy_records_to_table (reference)':<52}{copy_s:9.2f}{n / copy_s:11,.0f}{1:8.3f}x")
    print("  vs COPY: service events/s / COPY events/s (target >= 0.3x)")
    print(
        f"  stopTestSession evaluation {evaluation_s:.2f} s: {metrics.frames:,} frames, "
        f"{metrics.detections:,} detections, {metrics.ground_truth:,} ground-truth boxes, "
        f"TP {overall.tp:,} FP {overall.fp:,} FN {overall.fn:,}, status {ended.status}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--bulk-batch", type=int, default=5000, help="the columnar input's large batches")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--frames", type=int, default=500, help="per episode")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL; its schema is dropped (default: a new database, dropped after)",
    )
    args = parser.parse_args()
    if args.events > args.episodes * args.frames * PER_FRAME:
        parser.error(f"--events: at most {args.episodes * args.frames * PER_FRAME} for this dataset")

    from bench.scratch import scratch_postgres
    from bench.statements import reset_postgres
    from persistence.migrate import upgrade
    from tests.factories import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(
            Path(tmp) / "datasets" / "bench",
            lengths=[args.frames] * args.episodes,
            cameras=("front",),
            size=SIZE,
            name="bench",
        )
        with scratch_postgres() as scratch_url:
            url = args.database_url or scratch_url
            if url is None:
                parser.error("--database-url: no PostgreSQL answers, and this bench needs one (COPY)")
            if args.database_url:
                asyncio.run(reset_postgres(url))
            upgrade(url)
            asyncio.run(run(url, Path(tmp), folder, args))


if __name__ == "__main__":
    import logging

    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING)
    main()
