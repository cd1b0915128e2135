"""No N+1: the SQL statements of a nested query do not grow with the page size or dataset count."""

from __future__ import annotations

from persistence.engine import StatementCounter
from tests.conftest import gql
from tests.factories import seed_index

NESTED = """query($first: Int) { datasets { edges { node { name format
  episodes(first: $first) { totalCount edges { node { index length tasks { index description } } } } } } } }"""


# Dataloaders batch per event-loop tick. When two loaders that run in parallel both lead to a third
# (users of annotations and of sessions), the third's keys arrive in one tick or two depending on
# which database answer comes back first, so a page may cost one statement more or less. An N+1
# adds a statement per row (25 or more here), far beyond this margin.
TICK_SPLITS = 2


def assert_flat(*counts: int) -> None:
    assert max(counts) - min(counts) <= TICK_SPLITS, counts


async def count_statements(client, runtime, first: int) -> tuple[int, dict]:
    with StatementCounter(runtime.engine) as counter:
        body = await gql(client, NESTED, first=first)
    assert "errors" not in body, body
    return counter.count, body


async def test_statements_do_not_grow_with_page_size(client, runtime):
    await seed_index(runtime, datasets=3, episodes=210)
    await gql(client, "{ viewer { name } }")  # the token's last use is written once a minute, not here
    counts = {}
    for first in (10, 50, 200):
        counts[first], body = await count_statements(client, runtime, first)
        edges = body["data"]["datasets"]["edges"]
        assert len(edges) == 3
        assert all(len(e["node"]["episodes"]["edges"]) == first for e in edges)
        assert edges[2]["node"]["episodes"]["edges"][5]["node"]["tasks"][0]["description"] == "push"
    assert_flat(*counts.values())
    # datasets, their count... one statement per loader batch: a handful, whatever the sizes.
    assert counts[200] <= 5, counts


async def test_statements_do_not_grow_with_dataset_count(client, runtime):
    await seed_index(runtime, datasets=1, episodes=20)
    await gql(client, "{ viewer { name } }")
    one, _ = await count_statements(client, runtime, 20)
    await seed_index(runtime, datasets=6, episodes=20)  # set0 re-seeded; five more datasets
    six, body = await count_statements(client, runtime, 20)
    assert len(body["data"]["datasets"]["edges"]) == 6
    assert one == six


ANNOTATED = """query($first: Int) { datasets { edges { node { annotationProgress { multipleAnnotators }
  episodes(first: $first) { edges { node { index
    annotations { version annotator { name } anomalies { type } }
    myAnnotation { version } consensus { rating agreement anomalies { fromFrame annotators { name } } }
    sessions { status participants { currentFrame user { name } } } } } } } } } }"""


async def test_annotation_fields_do_not_multiply_statements(client, runtime):
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.annotations import service as episode_annotations
    from domain.annotations import sessions as annotation_sessions
    from domain.annotations.drafts import AnnotationDraft, AnomalyDraft, AnomalyType, Rating, Severity

    await seed_index(runtime, datasets=1, episodes=30)
    async with runtime.sessions() as session:
        from sqlalchemy import select

        from persistence.tables import EpisodeRow

        episode_ids = list(
            (await session.execute(select(EpisodeRow.id).order_by(EpisodeRow.index))).scalars()
        )
    people = [viewer_of(await create_user(runtime, f"p{i}", Role.ANNOTATOR)) for i in range(3)]
    draft = AnnotationDraft(
        rating=Rating.SUCCESS, anomalies=(AnomalyDraft(AnomalyType.SLIP, Severity.LOW, 1, 3),)
    )
    for episode_id in episode_ids:
        for person in people:
            await episode_annotations.save_annotation(
                runtime, person, episode_id, draft, expected_version=None
            )
        await annotation_sessions.start_session(runtime, people[0], episode_id)
    await gql(client, "{ viewer { name } }")
    counts = {}
    for first in (5, 30):
        with StatementCounter(runtime.engine) as counter:
            body = await gql(client, ANNOTATED, first=first)
        assert "errors" not in body, body
        episodes = body["data"]["datasets"]["edges"][0]["node"]["episodes"]["edges"]
        assert len(episodes) == first and len(episodes[-1]["node"]["annotations"]) == 3
        assert episodes[-1]["node"]["consensus"]["anomalies"][0]["fromFrame"] == 1
        counts[first] = counter.count
    assert_flat(*counts.values())


BOXED = """query($first: Int) { datasets(first: 1) { edges { node { labels { name parent { name } }
  objectReview { total validated }
  episodes(first: $first) { edges { node { index objectReview { total pending }
    objects(first: 10) { totalCount edges { node { trackId label { name color } reviewedBy { name }
      createdBy { name } box { x } } } }
    tracks { trackId boxCount label { name } boxes { frame } } } } } } } } }"""


async def test_box_fields_do_not_multiply_statements(client, runtime):
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.objects import labels
    from domain.objects import service as object_annotations
    from domain.objects.boxes import BoxDraft

    await seed_index(runtime, datasets=1, episodes=30)
    async with runtime.sessions() as session, session.begin():
        from sqlalchemy import select

        from persistence.tables import EpisodeRow

        episode_ids = list(
            (await session.execute(select(EpisodeRow.id).order_by(EpisodeRow.index))).scalars()
        )
        await labels.ensure_labels(
            session, 1, [("vehicle", None, None), ("car", None, "vehicle"), ("person", None, None)]
        )
    person = viewer_of(await create_user(runtime, "p", Role.REVIEWER))
    for episode_id in episode_ids:
        made = await object_annotations.create_boxes(
            runtime,
            person,
            [
                BoxDraft(
                    episode_id,
                    "front",
                    f,
                    1,
                    1,
                    5,
                    5,
                    "car" if f % 3 == 1 else "person",
                    track_id=f"t{f % 3}",
                )
                for f in range(9)
            ],
        )
        await object_annotations.review_boxes(runtime, person, [made[0].id], True, None)
    await gql(client, "{ viewer { name } }")
    counts = {}
    for first in (5, 30):
        with StatementCounter(runtime.engine) as counter:
            body = await gql(client, BOXED, first=first)
        assert "errors" not in body, body
        node = body["data"]["datasets"]["edges"][0]["node"]
        episodes = node["episodes"]["edges"]
        assert len(episodes) == first and episodes[-1]["node"]["objects"]["totalCount"] == 9
        assert node["objectReview"] == {"total": 270, "validated": 30}
        assert {t["trackId"]: len(t["boxes"]) for t in episodes[-1]["node"]["tracks"]} == {
            "t0": 3,
            "t1": 3,
            "t2": 3,
        }
        counts[first] = counter.count
    assert_flat(*counts.values())


ANALYSED = """query($first: Int) { datasets(first: 3) { edges { node {
  analyses(kind: TRAJECTORY_METRICS) { latest { version } runs { version } }
  clusters { k } qualityReport { version }
  episodes(first: $first, orderBy: OVERALL_GRADE) { edges { node { index overallGrade flagged cluster
    metrics { smoothness flags } suggestions { type fromFrame } } } } } } } }"""


async def test_analysis_fields_do_not_multiply_statements(client, runtime):
    from sqlalchemy import select

    from persistence.repositories import episode_analysis, suggestion
    from persistence.repositories import job as jobs_repo
    from persistence.tables import EpisodeRow

    await seed_index(runtime, datasets=2, episodes=30)
    async with runtime.sessions() as session, session.begin():
        rows = list((await session.execute(select(EpisodeRow.id, EpisodeRow.dataset_id))).all())
        for dataset_id in {d for _, d in rows}:
            job = await jobs_repo.create_job(
                session,
                kind="ANALYSIS",
                status="COMPLETED",
                target=f"dataset:{dataset_id}:analysis:TRAJECTORY_METRICS",
                version=1,
                dataset_id=dataset_id,
                parameters={},
            )
            mine = [e for e, d in rows if d == dataset_id]
            values = {
                e: {
                    "smoothness": 0.5,
                    "efficiency": 0.9,
                    "jitter": 0.1,
                    "hesitation_count": 0,
                    "correction_count": 1,
                    "path_length": 2.0,
                    "overall_score": 1 + e % 5,  # the stored key of the overall grade
                    "flags": ["jittery"] if e % 2 else [],
                }
                for e in mine
            }
            await episode_analysis.insert_results(session, job.id, "TRAJECTORY_METRICS", values)
            await episode_analysis.set_grades(
                session, {e: (1 + e % 5, v["flags"]) for e, v in values.items()}
            )
            await suggestion.replace_unverified(
                session,
                job.id,
                "ANOMALY_DETECTION",
                {
                    e: [
                        dict(
                            type="JITTER",
                            severity="LOW",
                            from_frame=1,
                            to_frame=2,
                            from_time=0.0,
                            to_time=0.1,
                            description="z 4 > 3",
                        )
                    ]
                    for e in mine
                },
            )
            await episode_analysis.refresh_review_order(session, mine)
    await gql(client, "{ viewer { name } }")
    counts = {}
    for first in (5, 30):
        with StatementCounter(runtime.engine) as counter:
            body = await gql(client, ANALYSED, first=first)
        assert "errors" not in body, body
        datasets = body["data"]["datasets"]["edges"]
        episodes = datasets[-1]["node"]["episodes"]["edges"]
        assert len(episodes) == first and datasets[-1]["node"]["analyses"]["latest"]["version"] == 1
        grades = [e["node"]["overallGrade"] for e in episodes]
        assert grades == sorted(grades) and all(e["node"]["flagged"] for e in episodes)
        assert all(e["node"]["metrics"]["smoothness"] == 0.5 and e["node"]["suggestions"] for e in episodes)
        counts[first] = counter.count
    assert_flat(*counts.values())


PROJECTS = """{ projects { totalCount edges { node { name owner { name } episodeCount episodes { index }
  testSessions { name framesProcessed project { name } episodes { index } job { status }
    evaluation { overall { precision } } verdict { passed }
    comparisons(first: 3) { totalCount edges { node { frame annotation { camera } episode { index } } } } } } } } }"""


async def seed_projects(runtime, count: int, start: int) -> None:
    """Projects with linked episodes and two evaluated-looking sessions each: one processed frame
    and two comparisons (a TP on a real box, an FP)."""
    from domain.accounts.users import Role, create_user, viewer_of
    from domain.objects import labels
    from domain.objects import service as object_annotations
    from domain.objects.boxes import BoxDraft
    from domain.validation import projects, test_sessions
    from domain.validation.projects import Criteria
    from domain.validation.test_sessions import NewTestSession, TestSource
    from persistence.repositories import detection_comparison as comparisons_repo
    from persistence.repositories import episode as episodes_repo
    from persistence.repositories import test_frame as frames_repo

    owner = viewer_of(await create_user(runtime, f"owner{start}", Role.REVIEWER))
    async with runtime.sessions() as session, session.begin():
        episode_ids = [e.id for e in await episodes_repo.read_episodes_by_ids(session, list(range(1, 31)))]
        await labels.ensure_labels(session, 1, [("a", None, None)])
    for i in range(start, start + count):
        row = await projects.create_project(
            runtime, owner, projects.NewProject(f"project {i}", None, ["a"], Criteria())
        )
        await projects.link_episodes(runtime, owner, row.id, episode_ids[i : i + 5], "seed")
        (box,) = await object_annotations.create_boxes(
            runtime, owner, [BoxDraft(episode_ids[i], "front", 0, 1, 1, 5, 5, "a", track_id="t")]
        )
        for s in range(2):
            made = await test_sessions.create_test_session(
                runtime, owner, NewTestSession(project_id=row.id, name=f"s{s}", source=TestSource.EXTERNAL)
            )
            common = {"episode_id": episode_ids[i], "camera": "front", "frame": 0, "label": "a"}
            async with runtime.sessions() as session, session.begin():
                await frames_repo.record_frames(
                    session, made.id, [{"episode_id": episode_ids[i], "camera": "front", "frame": 0}]
                )
                await comparisons_repo.replace_comparisons(
                    session,
                    made.id,
                    [
                        {**common, "kind": "TP", "iou": 0.9, "annotation_id": box.id},
                        {**common, "kind": "FP", "iou": 0.0, "annotation_id": None},
                    ],
                )


async def test_project_and_test_session_fields_do_not_multiply_statements(client, runtime):
    await seed_index(runtime, datasets=1, episodes=30)
    await gql(client, "{ viewer { name } }")
    await seed_projects(runtime, 2, 0)
    with StatementCounter(runtime.engine) as few:
        small = await gql(client, PROJECTS)
    await seed_projects(runtime, 6, 2)
    with StatementCounter(runtime.engine) as many:
        body = await gql(client, PROJECTS)
    assert "errors" not in small and "errors" not in body, body
    edges = body["data"]["projects"]["edges"]
    assert len(edges) == 8 and all(len(e["node"]["testSessions"]) == 2 for e in edges)
    sessions = [s for e in edges for s in e["node"]["testSessions"]]
    assert all(s["framesProcessed"] == 1 for s in sessions)
    assert all(s["comparisons"]["totalCount"] == 2 for s in sessions)
    assert all(
        [c["node"]["annotation"] for c in s["comparisons"]["edges"]] == [{"camera": "front"}, None]
        for s in sessions
    )
    assert edges[3]["node"]["episodeCount"] == 5 and edges[3]["node"]["owner"]["name"] == "owner2"
    assert_flat(few.count, many.count)
