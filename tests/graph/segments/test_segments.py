"""Segments through the graph: vocabulary, versions and CONFLICT, errors naming the argument, consensus,
progress, task text, permissions, live events, and statements that do not grow with the page."""

from __future__ import annotations

import asyncio

import pytest
from gql import gql as document

from persistence.engine import StatementCounter
from tests.conftest import gql, http_client, make_user, register
from tests.factories import seed_index
from tests.graph.live import Collector, serving, ws_client
from tests.graph.test_statements import assert_flat

LABEL = """mutation($input: CreateSegmentLabelInput!) { createSegmentLabel(input: $input) {
  id name color mayOverlap } }"""
CREATE = """mutation($input: CreateEpisodeSegmentInput!) { createEpisodeSegment(input: $input) {
  id version fromFrame toFrame fromTime toTime instruction notes label { name } annotator { name } } }"""
UPDATE = """mutation($input: UpdateEpisodeSegmentInput!) { updateEpisodeSegment(input: $input) {
  id version fromFrame toFrame instruction } }"""
DELETE = "mutation($id: ID!, $v: Int!) { deleteEpisodeSegment(id: $id, expectedVersion: $v) }"
CONSENSUS = """query($id: ID!, $iou: Float!) { node(id: $id) { ... on Episode {
  segments { fromFrame annotator { name } }
  segmentConsensus(minIou: $iou) { minIou annotatorCount markedCount agreedCount segments {
    label { name } fromFrame toFrame fromSpreadFrames toSpreadFrames fromSpreadSeconds toSpreadSeconds
    meanIou annotators { name } segmentIds } }
  dataset { segmentLabels { name } annotationProgress { segmentAgreement {
    episodeCount markedCount agreedCount agreedShare meanIou } } } } } }"""
TASK = """mutation($input: CorrectEpisodeTaskTextInput!) { correctEpisodeTaskText(input: $input) {
  text original corrected version correctedBy { name } } }"""


@pytest.fixture
async def world(app, client, runtime, tiny_dataset):
    """The tiny dataset's episode 1 (50 frames at 30 fps), reach and grasp labels, two annotators."""
    await register(runtime, tiny_dataset)
    body = await gql(client, "{ datasets { edges { node { id episode(index: 1) { id } } } } }")
    node = body["data"]["datasets"]["edges"][0]["node"]
    labels = {}
    for name in ("reach", "grasp"):
        made = await gql(client, LABEL, input={"datasetId": node["id"], "name": name})
        labels[name] = made["data"]["createSegmentLabel"]["id"]
    async with (
        http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as anna,
        http_client(app, await make_user(runtime, "ben", "ANNOTATOR")) as ben,
        http_client(app, await make_user(runtime, "vera", "VIEWER")) as vera,
    ):
        yield node["episode"]["id"], labels, {"anna": anna, "ben": ben, "vera": vera, "admin": client}


def segment(episode_id: str, label: str, first: int, last: int, **more) -> dict:
    return {"episodeId": episode_id, "labelId": label, "fromFrame": first, "toFrame": last, **more}


async def test_vocabulary_is_managed_like_labels(world):
    episode_id, labels, people = world
    body = await gql(people["admin"], CONSENSUS, id=episode_id, iou=0.5)
    assert [x["name"] for x in body["data"]["node"]["dataset"]["segmentLabels"]] == ["reach", "grasp"]
    refused = await gql(people["anna"], LABEL, input={"datasetId": "RGF0YXNldDox", "name": "place"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await gql(
        people["admin"],
        'mutation($id: ID!) { updateSegmentLabel(input: {id: $id, color: "red"}) { color } }',
        id=labels["reach"],
    )
    assert bad["errors"][0]["extensions"]["field"] == "input.color"
    changed = await gql(
        people["admin"],
        'mutation($id: ID!) { updateSegmentLabel(input: {id: $id, color: "#00FF00", mayOverlap: true}) '
        "{ color mayOverlap } }",
        id=labels["reach"],
    )
    assert changed["data"]["updateSegmentLabel"] == {"color": "#00ff00", "mayOverlap": True}


async def test_versions_conflict_and_permissions(world):
    episode_id, labels, people = world
    anna, ben, vera = people["anna"], people["ben"], people["vera"]
    made = await gql(anna, CREATE, input=segment(episode_id, labels["reach"], 3, 12, instruction="reach it"))
    created = made["data"]["createEpisodeSegment"]
    assert created["version"] == 1 and created["annotator"]["name"] == "anna"
    assert created["fromTime"] == pytest.approx(3 / 30) and created["toTime"] == pytest.approx(12 / 30)
    assert created["label"]["name"] == "reach" and created["instruction"] == "reach it"
    change = {"id": created["id"], "labelId": labels["reach"], "fromFrame": 3, "toFrame": 14}
    second = await gql(anna, UPDATE, input={**change, "expectedVersion": 1})
    assert second["data"]["updateEpisodeSegment"]["version"] == 2
    stale = await gql(anna, UPDATE, input={**change, "toFrame": 20, "expectedVersion": 1})
    error = stale["errors"][0]["extensions"]
    assert error["code"] == "CONFLICT" and error["field"] == "input.expectedVersion"
    assert error["currentVersion"] == 2 and error["current"]["toFrame"] == 14
    stale_delete = await gql(anna, DELETE, id=created["id"], v=1)
    assert stale_delete["errors"][0]["extensions"]["field"] == "expectedVersion"
    others = await gql(ben, DELETE, id=created["id"], v=2)
    assert others["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    viewer = await gql(vera, CREATE, input=segment(episode_id, labels["reach"], 20, 25))
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(anna, DELETE, id=created["id"], v=2))["data"]["deleteEpisodeSegment"] is True


@pytest.mark.parametrize(
    ("first", "last", "label", "field"),
    [
        (10, 5, "reach", "input.toFrame"),
        (-1, 5, "reach", "input.fromFrame"),
        (10, 50, "reach", "input.toFrame"),
        (0, 5, "other", "input.labelId"),
        (5, 15, "grasp", "input.fromFrame"),  # overlaps reach 0..9
    ],
)
async def test_errors_name_the_argument(world, first, last, label, field):
    episode_id, labels, people = world
    await gql(people["anna"], CREATE, input=segment(episode_id, labels["reach"], 0, 9))
    label_id = labels.get(label, "U2VnbWVudExhYmVsOjk5OTk=")  # SegmentLabel:9999
    body = await gql(people["anna"], CREATE, input=segment(episode_id, label_id, first, last))
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field), body


async def test_consensus_and_progress(world):
    episode_id, labels, people = world
    for who, ranges in (("anna", ((0, 19), (20, 39))), ("ben", ((2, 21), (24, 39)))):
        for label, (first, last) in zip(("reach", "grasp"), ranges, strict=True):
            made = await gql(people[who], CREATE, input=segment(episode_id, labels[label], first, last))
            assert "errors" not in made, made
    body = await gql(people["vera"], CONSENSUS, id=episode_id, iou=0.5)
    assert "errors" not in body, body
    episode = body["data"]["node"]
    consensus = episode["segmentConsensus"]
    assert (consensus["annotatorCount"], consensus["markedCount"], consensus["agreedCount"]) == (2, 4, 4)
    reach, grasp = consensus["segments"]
    assert reach["label"]["name"] == "reach" and (reach["fromFrame"], reach["toFrame"]) == (1.0, 20.0)
    assert (reach["fromSpreadFrames"], reach["toSpreadFrames"]) == (2, 2)
    assert reach["fromSpreadSeconds"] == pytest.approx(2 / 30)
    assert reach["meanIou"] == pytest.approx(18 / 22)
    assert sorted(a["name"] for a in reach["annotators"]) == ["anna", "ben"]
    assert grasp["label"]["name"] == "grasp" and grasp["meanIou"] == pytest.approx(0.8)
    agreement = episode["dataset"]["annotationProgress"]["segmentAgreement"]
    assert agreement["episodeCount"] == 1 and agreement["agreedShare"] == 1.0
    assert agreement["meanIou"] == pytest.approx((18 / 22 + 0.8) / 2)
    strict = await gql(people["vera"], CONSENSUS, id=episode_id, iou=0.9)
    assert strict["data"]["node"]["segmentConsensus"]["segments"] == []
    bad = await gql(people["vera"], CONSENSUS, id=episode_id, iou=1.5)
    assert bad["errors"][0]["extensions"]["field"] == "minIou"


async def test_task_text_correction_keeps_the_original(world):
    episode_id, _, people = world
    read = "query($id: ID!) { node(id: $id) { ... on Episode { taskText { text original corrected version } } } }"
    before = await gql(people["vera"], read, id=episode_id)
    assert before["data"]["node"]["taskText"] == {
        "text": "place the cube",
        "original": "place the cube",
        "corrected": False,
        "version": 0,
    }
    refused = await gql(people["anna"], TASK, input={"episodeId": episode_id, "text": "place the red cube"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    fixed = await gql(people["admin"], TASK, input={"episodeId": episode_id, "text": "place the red cube"})
    assert fixed["data"]["correctEpisodeTaskText"] == {
        "text": "place the red cube",
        "original": "place the cube",
        "corrected": True,
        "version": 1,
        "correctedBy": {"name": "admin"},
    }
    stale = await gql(people["admin"], TASK, input={"episodeId": episode_id, "text": "again"})
    assert stale["errors"][0]["extensions"]["field"] == "input.expectedVersion"
    after = await gql(people["vera"], read, id=episode_id)
    assert after["data"]["node"]["taskText"]["original"] == "place the cube"


EVENTS = """subscription($id: ID!) { episodeEvents(episodeId: $id) { __typename
  ... on EpisodeSegmentsChanged { action version segmentId segment { toFrame label { name } }
    annotator { name } by { name } } } }"""


async def test_segment_changes_stream_live(runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    tokens = {
        name: await make_user(runtime, name, role)
        for name, role in (("anna", "ANNOTATOR"), ("rita", "REVIEWER"))
    }
    async with (
        serving(runtime) as address,
        ws_client(address, tokens["rita"]) as rita,
        ws_client(address, tokens["anna"]) as anna,
    ):
        found = await rita.execute(
            document("{ datasets { edges { node { id episode(index: 1) { id } } } } }")
        )
        node = found["datasets"]["edges"][0]["node"]
        label = await rita.execute(
            document(LABEL), variable_values={"input": {"datasetId": node["id"], "name": "reach"}}
        )
        watcher = Collector(rita, EVENTS, {"id": node["episode"]["id"]})
        await asyncio.sleep(0.2)  # the subscription is open before the change
        made = await anna.execute(
            document(CREATE),
            variable_values={
                "input": segment(node["episode"]["id"], label["createSegmentLabel"]["id"], 0, 9)
            },
        )
        segment_id = made["createEpisodeSegment"]["id"]

        def changed(action: str):
            return lambda event: event["episodeEvents"].get("action") == action

        created = (await watcher.wait_for(changed("CREATED")))["episodeEvents"]
        assert created["segmentId"] == segment_id and created["segment"]["label"]["name"] == "reach"
        assert created["annotator"]["name"] == "anna" and created["by"]["name"] == "anna"
        await anna.execute(document(DELETE), variable_values={"id": segment_id, "v": 1})
        deleted = (await watcher.wait_for(changed("DELETED")))["episodeEvents"]
        assert deleted["segment"] is None and deleted["version"] == 1
        await watcher.close()


NESTED = """query($first: Int) { datasets(first: 1) { edges { node { segmentLabels { name color }
  annotationProgress { segmentAgreement { agreedShare } }
  episodes(first: $first) { edges { node { index
    segments { version label { name } annotator { name } }
    segmentConsensus { agreedCount segments { label { name } annotators { name } } }
    taskText { text original correctedBy { name } } } } } } } } }"""


async def test_segment_fields_do_not_multiply_statements(client, runtime):
    from sqlalchemy import select

    from domain.accounts.users import Role, create_user
    from domain.segments import task_text
    from persistence.repositories import segment as segments_repo
    from persistence.tables import EpisodeRow

    await seed_index(runtime, datasets=1, episodes=30)
    people = [await create_user(runtime, f"p{i}", Role.ANNOTATOR) for i in range(3)]
    async with runtime.sessions() as session, session.begin():
        episodes = list((await session.execute(select(EpisodeRow).order_by(EpisodeRow.index))).scalars())
        labels = [
            await segments_repo.insert_segment_label(
                session,
                {"dataset_id": episodes[0].dataset_id, "name": n, "color": "#ffffff", "may_overlap": False},
            )
            for n in ("reach", "grasp")
        ]
        for episode in episodes:
            for person in people:
                for label, (first, last) in zip(labels, ((0, 4), (5, 9)), strict=True):
                    await segments_repo.insert_segment(
                        session,
                        {
                            "episode_id": episode.id,
                            "annotator_id": person.id,
                            "label_id": label.id,
                            "version": 1,
                            "from_frame": first,
                            "to_frame": last + person.id % 2,
                            "from_time": first / 30,
                            "to_time": last / 30,
                        },
                    )
    for episode in episodes[::2]:
        await task_text.correct_task_text(
            runtime, people[0].id, episode.id, "corrected", expected_version=None
        )
    await gql(client, "{ viewer { name } }")
    counts = {}
    for first in (5, 30):
        with StatementCounter(runtime.engine) as counter:
            body = await gql(client, NESTED, first=first)
        assert "errors" not in body, body
        edges = body["data"]["datasets"]["edges"][0]["node"]["episodes"]["edges"]
        assert len(edges) == first and len(edges[-1]["node"]["segments"]) == 6
        assert edges[0]["node"]["segmentConsensus"]["agreedCount"] == 6
        assert edges[0]["node"]["taskText"]["correctedBy"]["name"] == "p0"
        assert edges[1]["node"]["taskText"]["text"] == "place"
        counts[first] = counter.count
    assert_flat(*counts.values())
