"""Statistics after bulk loads (issue 21): an import of at least BULK_ROWS boxes ANALYZEs the box table
in its own transaction, so PostgreSQL plans the next page of boxes on the new rows rather than as if
the table were empty (autovacuum's analyze waits for 10% of the table to change). SQLite: nothing to do."""

from __future__ import annotations

from sqlalchemy import text

from persistence import engine as engine_module
from persistence.engine import refresh_after_load
from tests.factories import seed_index
from tests.graph.objects.test_import_mapping import episode_id, mot_archive, send

RELTUPLES = text("SELECT reltuples FROM pg_class WHERE relname = 'object_annotation'")


async def _reltuples(runtime) -> float | None:
    if runtime.engine.dialect.name != "postgresql":
        return None
    async with runtime.sessions() as session:
        return (await session.execute(RELTUPLES)).scalar_one()


async def test_only_a_bulk_load_refreshes_statistics(runtime):
    await seed_index(runtime, datasets=1, episodes=2)
    before = await _reltuples(runtime)
    async with runtime.sessions() as session, session.begin():
        await refresh_after_load(session, "object_annotation", engine_module.BULK_ROWS - 1)
    assert await _reltuples(runtime) == before  # a small load: autovacuum's business
    async with runtime.sessions() as session, session.begin():
        await refresh_after_load(session, "object_annotation", engine_module.BULK_ROWS)
        rows = (await session.execute(text("SELECT count(*) FROM object_annotation"))).scalar_one()
    after = await _reltuples(runtime)
    if after is not None:
        assert after == rows  # analyzed: PostgreSQL knows how many boxes there are


async def test_an_import_of_a_bulk_load_leaves_statistics_of_its_boxes(
    client, runtime, field_dataset, monkeypatch
):
    monkeypatch.setattr(engine_module, "BULK_ROWS", 1)  # the case file's boxes count as a bulk load
    mapping = {"episodeId": await episode_id(client, field_dataset, 0), "camera": "front"}
    body = await send(client, field_dataset, "mot.zip", mot_archive(), nameMapping=mapping)
    boxes = body["data"]["importAnnotations"]["boxes"]
    assert boxes > 0, body
    tuples = await _reltuples(runtime)
    if tuples is not None:
        assert tuples == boxes  # ANALYZE ran after the boxes were inserted, in the import's transaction
