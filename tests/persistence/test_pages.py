"""Pages of many parents in one statement (persistence/repositories/pages.py): PostgreSQL's
LATERAL ... LIMIT and SQLite's row_number() return, for every parent, the page a query for that parent
alone returns: cursors, filters, ties on frame, empty parents, parents that do not exist."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, tuple_

from domain.objects import labels
from persistence.columns import utcnow
from persistence.engine import StatementCounter, refresh_statistics
from persistence.repositories import episode as episodes_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories.object_annotation import ObjectFilter
from persistence.tables import EpisodeRow, ObjectAnnotationRow
from tests.factories import seed_index

# The columns every inserted box states (a Core INSERT applies no model defaults).
FIXED = dict(
    occluded=False,
    truncated=False,
    difficult=False,
    outside=False,
    notes=None,
    score=None,
    reviewed_by=None,
    reviewed_at=None,
    created_at=utcnow(),
    updated_at=utcnow(),
)

Row = ObjectAnnotationRow


async def _seed_boxes(rt) -> list[int]:
    """2 datasets x 6 episodes; boxes on episodes 0, 2, 3 of each (two cameras, so frames tie):
    the episode ids in order."""
    await seed_index(rt, 2, 6)
    async with rt.sessions() as session, session.begin():
        episodes = (await session.execute(select(EpisodeRow).order_by(EpisodeRow.id))).scalars().all()
        label_ids = {}
        for dataset_id in sorted({e.dataset_id for e in episodes}):
            ids, _ = await labels.ensure_labels(
                session, dataset_id, [("car", None, None), ("dog", None, None)]
            )
            label_ids[dataset_id] = ids
        values = []
        for e in episodes:
            if e.index not in (0, 2, 3):
                continue
            for camera in ("front", "wrist"):
                for track, frames in (("A", range(0, 12, 2)), ("B", range(1, 9))):
                    values += [
                        dict(
                            episode_id=e.id,
                            camera=camera,
                            frame=f,
                            x=1.0,
                            y=2.0,
                            width=3.0,
                            height=4.0,
                            label_id=label_ids[e.dataset_id]["car" if track == "A" else "dog"],
                            track_id=f"{camera}{track}",
                            source="MANUAL",
                            review="VALIDATED" if f % 3 else "PENDING",
                            keyframe=True,
                            version=1,
                            **FIXED,
                        )
                        for f in frames
                    ]
        # Inserted in reverse, so ids do not follow frames.
        await boxes_repo.insert_boxes(session, values[::-1])
        await refresh_statistics(session, ["object_annotation"])
    return [e.id for e in episodes]


async def _alone(session, episode_id: int, filter: ObjectFilter, after, limit: int) -> list[int]:
    """The reference: one episode's page by a query of its own."""
    query = select(Row.id).where(Row.episode_id == episode_id, *filter.clauses())
    if after is not None:
        query = query.where(tuple_(Row.frame, Row.id) > tuple_(*after))
    query = query.order_by(Row.frame, Row.id).limit(limit)
    return list((await session.execute(query)).scalars())


@pytest.mark.parametrize(
    "filter",
    [ObjectFilter(), ObjectFilter(camera="wrist"), ObjectFilter(validated=True), ObjectFilter(label_id=-1)],
)
@pytest.mark.parametrize("limit", [1, 5, 11, 100])
async def test_box_pages_equal_each_episode_alone(runtime, filter, limit):
    episode_ids = await _seed_boxes(runtime)
    wanted = [*episode_ids, 999_999]  # and an episode that does not exist
    async with runtime.sessions() as session:
        with StatementCounter(runtime.engine) as counter:
            pages = await boxes_repo.list_box_pages(session, wanted, filter=filter, after=None, limit=limit)
        assert counter.count == 1
        for episode_id in wanted:
            page = [r.id for r in pages[episode_id]]
            assert page == await _alone(session, episode_id, filter, None, limit), episode_id
        empty = [e for e in wanted if not pages[e]]
        assert len(empty) == (len(episode_ids) // 2 + 1 if filter.label_id is None else len(wanted))


async def test_box_pages_after_a_cursor_and_to_the_end(runtime):
    """Walking every episode's boxes a page at a time, with the (frame, id) cursor of the last box,
    visits each box once, in order, and ends with empty pages."""
    episode_ids = await _seed_boxes(runtime)
    async with runtime.sessions() as session:
        everything = {e: await _alone(session, e, ObjectFilter(), None, 1000) for e in episode_ids}
        seen: dict[int, list[int]] = {e: [] for e in episode_ids}
        cursor = None
        for _ in range(20):
            pages = await boxes_repo.list_box_pages(
                session, episode_ids, filter=ObjectFilter(), after=cursor, limit=7
            )
            for e in episode_ids:
                assert [r.id for r in pages[e]] == await _alone(session, e, ObjectFilter(), cursor, 7)
            # The parents share one cursor in a batch (the same `after` for each): take the first's.
            first = pages[episode_ids[0]]
            for e in episode_ids:
                seen[e] += [r.id for r in pages[e]]
            if not first:
                break
            cursor = (first[-1].frame, first[-1].id)
        assert seen[episode_ids[0]] == everything[episode_ids[0]]
        assert len(everything[episode_ids[0]]) == 28
        assert everything[episode_ids[1]] == [] and seen[episode_ids[1]] == []


async def test_episode_pages_by_index_and_by_a_review_order(runtime):
    await seed_index(runtime, 3, 9)
    async with runtime.sessions() as session:
        datasets = [d for (d,) in (await session.execute(text("SELECT id FROM dataset ORDER BY id"))).all()]
        cases = [
            dict(after_index=None),
            dict(after_index=4),
            dict(after_index=8),
            dict(after_index=None, order="LENGTH"),
        ]
        for case in cases:
            pages = await episodes_repo.list_episode_pages(
                session, [*datasets, 424_242], filter=episodes_repo.EpisodeFilter(), limit=3, **case
            )
            for d in datasets:
                alone = await episodes_repo.list_episode_pages(
                    session, [d], filter=episodes_repo.EpisodeFilter(), limit=3, **case
                )
                assert [r.id for r in pages[d]] == [r.id for r in alone[d]], (case, d)
            assert pages[424_242] == []
        first = (
            await episodes_repo.list_episode_pages(
                session, datasets, filter=episodes_repo.EpisodeFilter(), after_index=None, limit=4
            )
        )[datasets[1]]
        assert [r.index for r in first] == [0, 1, 2, 3]
        assert (
            await episodes_repo.list_episode_pages(
                session, datasets, filter=episodes_repo.EpisodeFilter(), after_index=8, limit=4
            )
        ) == {d: [] for d in datasets}


async def test_many_parents_read_by_lateral_on_postgresql_and_row_number_on_sqlite(runtime):
    episode_ids = await _seed_boxes(runtime)
    async with runtime.sessions() as session:
        with StatementCounter(runtime.engine) as counter:
            await boxes_repo.list_box_pages(session, episode_ids, filter=ObjectFilter(), after=None, limit=3)
    (statement,) = counter.statements
    if runtime.engine.dialect.name == "postgresql":
        assert "JOIN LATERAL" in statement and "row_number" not in statement
        async with runtime.engine.connect() as connection:
            # The statistics refresh after the load: the planner knows the table's rows.
            count = (await connection.execute(text("SELECT count(*) FROM object_annotation"))).scalar_one()
            reltuples = (
                await connection.execute(
                    text("SELECT reltuples FROM pg_class WHERE relname = 'object_annotation'")
                )
            ).scalar_one()
            assert count == 2 * 3 * 2 * 14 and reltuples == count
    else:
        assert "row_number() OVER" in statement and "LATERAL" not in statement


async def test_no_parents_no_statement(runtime):
    async with runtime.sessions() as session:
        with StatementCounter(runtime.engine) as counter:
            assert (
                await boxes_repo.list_box_pages(session, [], filter=ObjectFilter(), after=None, limit=3) == {}
            )
    assert counter.count == 0
