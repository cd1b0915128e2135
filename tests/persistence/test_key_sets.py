"""Rows by composite keys (persistence/key_sets.py): the rows whose key is one of those given, each
once, in the query's order, in one statement; on PostgreSQL one statement text whatever the number of
keys (prepared once; the keys are arrays, not a row-value list planned key by key)."""

from __future__ import annotations

from sqlalchemy import select

from persistence.engine import StatementCounter
from persistence.key_sets import rows_with_keys
from persistence.tables import EpisodeRow
from tests.factories import seed_index

KEY = (EpisodeRow.dataset_id, EpisodeRow.index)


async def test_rows_of_the_keys_given_each_once_in_the_querys_order(runtime):
    await seed_index(runtime, 2, 6)
    async with runtime.sessions() as session:
        every = (await session.execute(select(EpisodeRow.dataset_id, EpisodeRow.index, EpisodeRow.id))).all()
        dataset = min(r.dataset_id for r in every)
        # Keys out of order, one twice, one of no episode (index 99), one of no dataset.
        keys = [(dataset + 1, 4), (dataset, 0), (dataset, 5), (dataset, 0), (dataset, 99), (dataset + 7, 1)]
        query = select(EpisodeRow.id, EpisodeRow.dataset_id, EpisodeRow.index).order_by(EpisodeRow.id.desc())
        with StatementCounter(runtime.engine) as counter:
            rows = await rows_with_keys(session, query, KEY, keys)
        assert counter.count == 1
        wanted = sorted((r.id for r in every if (r.dataset_id, r.index) in set(keys)), reverse=True)
        assert [r.id for r in rows] == wanted and len(wanted) == 3
        assert [(r.dataset_id, r.index) for r in rows] == [(dataset + 1, 4), (dataset, 5), (dataset, 0)]
        assert await rows_with_keys(session, query, KEY, []) == []


async def test_one_statement_text_for_any_number_of_keys_on_postgresql(runtime):
    await seed_index(runtime, 1, 3)
    async with runtime.sessions() as session:
        dataset = (await session.execute(select(EpisodeRow.dataset_id).limit(1))).scalar_one()
        with StatementCounter(runtime.engine) as counter:
            for count in (1, 2, 3):
                keys = [(dataset, i) for i in range(count)]
                found = await rows_with_keys(session, select(EpisodeRow), KEY, keys)
                assert len(found) == count
                assert all(isinstance(r[0], EpisodeRow) for r in found)  # mapped rows stay mapped
    if runtime.engine.dialect.name == "postgresql":
        assert len(set(counter.statements)) == 1 and "unnest" in counter.statements[0]
    else:
        assert len(set(counter.statements)) == 3  # SQLite: IN lists of 1, 2, 3 keys
