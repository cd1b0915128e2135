"""Ground-truth figures, on PostgreSQL (SQLite with a note when PostgreSQL does not answer):

1. exportAnnotations of 100,000 boxes to COCO (the whole job: read, convert, write the zip) against
   writing the same COCO JSON with the same encoder from an in-memory list (into the same zip);
2. importAnnotations of that file against inserting the same rows with asyncpg's
   copy_records_to_table;
3. reading one frame's boxes and one 300-box track through GraphQL: statements and milliseconds.

    .venv/bin/python -m bench.ground_truth
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text

from bench.scratch import scratch_postgres
from domain.accounts.users import Role, create_user, viewer_of
from domain.core.runtime import Runtime
from domain.objects.transfer import exports as annotation_export
from domain.objects.transfer import imports as annotation_import
from domain.objects.transfer.formats.model import ExportFormat
from graph.app import create_app
from persistence.columns import utcnow
from persistence.engine import StatementCounter, is_sqlite
from persistence.migrate import upgrade
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.settings import load_settings
from tests.conftest import make_user

BOXES = 100_000
EPISODES = 50
FRAMES = 1000  # per episode: 2 boxes per frame
TRACK = 300
LABELS = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
FRAME_QUERY = """query($id: ID!, $frame: Int!) { node(id: $id) { ... on Episode {
  objects(camera: "front", frame: $frame) { totalCount edges { node { id trackId box { x y width height }
    label { name color } review } } } } } }"""
TRACK_QUERY = """query($id: ID!, $track: String!) { node(id: $id) { ... on Episode {
  track(camera: "front", trackId: $track) { firstFrame lastFrame boxCount label { name }
    boxes { id frame box { x y width height } keyframe source review } } } } }"""


async def seed(rt: Runtime) -> tuple[int, list[int]]:
    rng = random.Random(0)
    now = utcnow()
    async with rt.sessions() as session, session.begin():
        dataset = await datasets_repo.upsert_dataset(
            session,
            "/bench/gt",
            name="gt",
            format="HDF5",
            fps=30.0,
            cameras=["front"],
            joint_names=[],
            features={},
            episode_count=EPISODES,
            frame_count=EPISODES * FRAMES,
        )
        await episodes_repo.replace_episodes(
            session,
            dataset.id,
            [
                dict(
                    index=i,
                    file=f"episodes/episode_{i:06d}.hdf5",
                    length=FRAMES,
                    duration=FRAMES / 30,
                    task_index=None,
                    cameras={"front": [FRAMES, 240, 320]},
                    missing=[],
                    file_size=1,
                    file_mtime=0.0,
                )
                for i in range(EPISODES)
            ],
        )
        labels = await labels_repo.insert_labels(
            session, [{"dataset_id": dataset.id, "name": n, "color": "#808080"} for n in LABELS]
        )
        episodes = (
            await episodes_repo.list_episode_pages(
                session, [dataset.id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=EPISODES
            )
        )[dataset.id]
        values = []
        for e in episodes:
            for frame in range(FRAMES):
                for slot in range(2):
                    w, h = rng.uniform(10, 80), rng.uniform(20, 120)
                    values.append(
                        {
                            "episode_id": e.id,
                            "camera": "front",
                            "frame": frame,
                            "x": rng.uniform(0, 320 - w),
                            "y": rng.uniform(0, 240 - h),
                            "width": w,
                            "height": h,
                            "label_id": labels[slot].id,
                            "track_id": f"T{slot}_{frame // TRACK:04d}",
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
    return dataset.id, [e.id for e in episodes]


def reference_write(data) -> float:
    """The same COCO document, already in memory as lists, dumped with the same encoder into a zip."""
    doc = {
        "images": [
            {"id": i + 1, "file_name": im.file_name, "width": im.width, "height": im.height}
            for i, im in enumerate(data.images)
        ],
        "annotations": [
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [b.x, b.y, b.width, b.height],
                "area": b.width * b.height,
                "iscrowd": 0,
                "attributes": {
                    "track_id": b.track_id,
                    "occluded": b.occluded,
                    "truncated": b.truncated,
                    "difficult": b.difficult,
                    "outside": b.outside,
                    "keyframe": b.keyframe,
                    "source": b.source,
                },
            }
            for i, b in enumerate(data.boxes)
        ],
        "categories": [
            {"id": i + 1, "name": lab.name, "supercategory": ""} for i, lab in enumerate(data.labels)
        ],
    }
    start = time.perf_counter()
    with zipfile.ZipFile(io.BytesIO(), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("annotations.json", json.dumps(doc, separators=(",", ":")))
    return time.perf_counter() - start


async def copy_reference(url: str, rows: list[tuple], columns: list[str]) -> float:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        start = time.perf_counter()
        await connection.copy_records_to_table("object_annotation", records=rows, columns=columns)
        return time.perf_counter() - start
    finally:
        await connection.execute("TRUNCATE object_annotation CASCADE")
        await connection.close()


async def graph_reads(rt: Runtime, episode_ids: list[int]) -> dict[str, tuple[int, float]]:
    from strawberry.relay import to_base64

    token = await make_user(rt, "bench", "ADMIN")
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    results = {}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://localhost", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        episode = to_base64("Episode", episode_ids[0])
        for name, query, variables in (
            ("one frame's boxes", FRAME_QUERY, {"id": episode, "frame": 500}),
            (f"one {TRACK}-box track", TRACK_QUERY, {"id": episode, "track": "T0_0001"}),
        ):
            samples = []
            for _ in range(21):
                with StatementCounter(rt.engine) as counter:
                    start = time.perf_counter()
                    body = (
                        await client.post("/graphql", json={"query": query, "variables": variables})
                    ).json()
                    samples.append(time.perf_counter() - start)
                assert "errors" not in body, body
            results[name] = (counter.count, statistics.median(samples[1:]) * 1000)
        track = body["data"]["node"]["track"]
        assert track["boxCount"] == TRACK and len(track["boxes"]) == TRACK, track
    return results


async def run(url: str, var_dir: Path) -> None:
    rt = Runtime.build(load_settings(var_dir=var_dir, database_url=url))
    await rt.start()
    try:
        dataset_id, episode_ids = await seed(rt)
        viewer = viewer_of(await create_user(rt, "bench-importer", Role.ADMIN))
        reads = await graph_reads(rt, episode_ids)
        request = annotation_export.ExportRequest(format=ExportFormat.COCO, dataset_id=dataset_id)
        start = time.perf_counter()
        job = await annotation_export.export_annotations(rt, viewer, request)
        done = await rt.jobs.wait(job.id)
        export_s = time.perf_counter() - start
        assert done.status == "COMPLETED", done.error_message
        dataset, episodes = await annotation_export._selection(rt, request)
        data = await annotation_export.gather(rt, request, dataset, episodes)
        reference_s = reference_write(data)
        zipped = annotation_export.artifact_path(rt, done.id, done.result.artifact).read_bytes()
        async with rt.engine.begin() as connection:
            columns = [c.name for c in boxes_repo.Row.__table__.columns if c.name != "id"]
            rows = [
                tuple(r)
                for r in (
                    await connection.execute(
                        text(f"SELECT {', '.join(columns)} FROM object_annotation ORDER BY id")
                    )
                ).all()
            ]
            await connection.execute(text("DELETE FROM object_annotation"))
        start = time.perf_counter()
        summary = await annotation_import.import_annotations(
            rt,
            viewer,
            annotation_import.ImportRequest(
                dataset_id=dataset_id, file_name="annotations_coco.zip", content=zipped
            ),
        )
        import_s = time.perf_counter() - start
        assert summary.boxes == BOXES, summary
        name = "SQLite" if is_sqlite(url) else "PostgreSQL"
        print(f"Ground truth on {name}: {BOXES:,} boxes, {EPISODES} episodes")
        print(
            f"  export to COCO (job)           {export_s:8.2f} s   same JSON from memory {reference_s:6.2f} s"
            f"   ratio {export_s / reference_s:6.2f}"
        )
        if not is_sqlite(url):
            async with rt.engine.begin() as connection:
                await connection.execute(text("DELETE FROM object_annotation"))
            copy_s = await copy_reference(url, rows, columns)
            print(
                f"  import of that zip (mutation)  {import_s:8.2f} s"
                f"   asyncpg COPY of the rows {copy_s:6.2f} s"
                f"   ratio {import_s / copy_s:6.2f}"
            )
        else:
            print(f"  import of that zip (mutation)  {import_s:8.2f} s   (COPY reference needs PostgreSQL)")
        for what, (statements, ms) in reads.items():
            print(f"  GraphQL: {what:<22} {statements} statements, {ms:6.1f} ms median")
    finally:
        await rt.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres() as pg_url:
        url = pg_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(run(url, Path(tmp)))


if __name__ == "__main__":
    os.environ.setdefault("ANNOGRAPH_LOG_LEVEL", "WARNING")
    main()
