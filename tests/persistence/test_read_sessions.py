"""Runtime.reads: sessions for stand-alone reads. On PostgreSQL they run in autocommit (no BEGIN and
ROLLBACK round trips around a loader's query); writes keep their transactions."""

from __future__ import annotations

from sqlalchemy import text

from persistence.engine import StatementCounter
from tests.factories import seed_index


async def test_read_sessions_read_what_was_written_and_are_counted(runtime):
    await seed_index(runtime, datasets=1, episodes=3)
    with StatementCounter(runtime.engine) as counter:
        async with runtime.reads() as session:
            count = (await session.execute(text("SELECT count(*) FROM episode"))).scalar_one()
    assert count == 3
    assert counter.count == 1  # the statement counter (the N+1 tests) sees reads too


async def test_read_sessions_run_each_statement_on_its_own_on_postgresql(runtime):
    if runtime.engine.dialect.name != "postgresql":
        assert runtime.reads is runtime.sessions  # one factory, so one writer lock, on SQLite
        return
    query = text("SELECT txid_current()")
    async with runtime.reads() as session:
        first = (await session.execute(query)).scalar_one()
        second = (await session.execute(query)).scalar_one()
        raw = await (await session.connection()).get_raw_connection()
        in_transaction = raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]
    assert second != first  # autocommit: each statement is its own transaction
    assert not in_transaction
    async with runtime.sessions() as session:
        first = (await session.execute(query)).scalar_one()
        assert (await session.execute(query)).scalar_one() == first
