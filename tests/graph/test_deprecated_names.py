"""One word for one thing (issue 16): `score`, `scoreThreshold`, `nmsIou`, `matchIou`, `certainty`, and
`grade` for a 1-5 quality value (`grades`, `gradeAlphas`).

The old names stay for one release: as deprecated output fields answering the same value, as deprecated
input fields accepted like the new ones (both given with different values is BAD_USER_INPUT naming the
new field), and values saved under the old names (criteria, detector settings, revisions, annograph JSON
files) still read. Every deprecated name is listed in the README.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType
from sqlalchemy import select, text, update

from domain.annotations.drafts import stored_content, with_old_keys
from domain.detection.detector import stored_detector
from graph.schema import schema
from persistence.columns import JSONType
from persistence.documents import EpisodeMetrics, SessionSettings
from persistence.tables import AnnotationRevisionRow, EpisodeRow, TestSessionRow
from tests.conftest import gql, register
from tests.graph.analysis import test_analysis as analysis_tests
from tests.graph.annotations import test_consensus as consensus_tests
from tests.graph.objects import test_annotation_transfer as transfer
from tests.graph.objects.test_annotation_transfer import all_boxes, clear, export, upload
from tests.graph.objects_setup import CREATE, box, labelled_dataset
from tests.graph.validation_setup import project_with_episodes
from tests.raw_json import write_raw_json

filled = transfer.filled  # a dataset with boxes of every kind and an episode annotation (a fixture)
ids = consensus_tests.ids  # the tiny dataset registered: {"dataset": id, episode index: id} (a fixture)

README = Path(__file__).resolve().parents[2] / "README.md"
REASON = re.compile(r"^Use `(\w+)`; removed in the next release$")

SCORES = """query($id: ID!) { node(id: $id) { ... on Episode { objects(first: 10) {
  edges { node { score confidence } } } } } }"""
UPDATE = """mutation($input: UpdateObjectAnnotationInput!) { updateObjectAnnotation(input: $input) {
  version score confidence } }"""
SAVE = """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) {
  version taskCompleteness { certainty confidence } } }"""
SESSION = """mutation($input: CreateTestSessionInput!) { createTestSession(input: $input) {
  id matchIou iouThreshold criteria { matchIou iouThreshold } } }"""
CRITERIA = "query($id: ID!) { node(id: $id) { ... on Project { criteria { matchIou iouThreshold } } } }"


def number(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def deprecated_fields() -> list[tuple[str, str, str]]:
    """(type, old field, new field) of every deprecated field, input field and enum value the schema
    serves."""
    found = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(gtype, GraphQLObjectType | GraphQLInputObjectType):
            members = {field_name: field.deprecation_reason for field_name, field in gtype.fields.items()}
        elif isinstance(gtype, GraphQLEnumType):
            members = {value_name: value.deprecation_reason for value_name, value in gtype.values.items()}
        else:
            continue
        for member, reason in members.items():
            if reason:
                match = REASON.match(reason)
                assert match, f"{name}.{member}: {reason!r}"
                found.append((name, member, match.group(1)))
    return found


def test_every_deprecated_name_points_to_a_field_and_is_listed_in_the_readme():
    fields = deprecated_fields()
    assert {old for _, old, _ in fields} == {
        "confidence",
        "iou",
        "iouThreshold",
        "scores",
        "scoreAlphas",
        "overallScore",
        "OVERALL_SCORE",
    }
    readme = README.read_text()
    section = readme.split("## Deprecated names", 1)[1].split("\n## ", 1)[0]
    for type_name, old, new in fields:
        gtype = schema._schema.type_map[type_name]
        members = gtype.values if isinstance(gtype, GraphQLEnumType) else gtype.fields
        assert new in members, f"{type_name}.{old} points to {new}, which {type_name} lacks"
        assert f"`{type_name}.{old}`" in section, f"README's Deprecated names lacks {type_name}.{old}"


def test_renamed_types_are_gone_and_listed_in_the_readme():
    section = README.read_text().split("## Deprecated names", 1)[1].split("\n## ", 1)[0]
    for old, new in (("ScoreSummary", "GradeSummary"), ("ScoreAgreement", "GradeAgreement")):
        assert old not in schema._schema.type_map and new in schema._schema.type_map
        assert f"`{old}`" in section and f"`{new}`" in section, f"README's Deprecated names lacks {old}"


async def test_a_box_score_is_also_answered_and_taken_as_confidence(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    made = await gql(
        client,
        CREATE,
        input=[
            box(episodes[0], 0, confidence=0.6),
            box(episodes[0], 1, score=0.7),
            box(episodes[0], 2, score=0.8, confidence=0.8),
        ],
    )
    assert "errors" not in made, made
    found = (await gql(client, SCORES, id=episodes[0]))["data"]["node"]["objects"]["edges"]
    assert sorted((e["node"]["score"], e["node"]["confidence"]) for e in found) == [
        (0.6, 0.6),
        (0.7, 0.7),
        (0.8, 0.8),
    ]
    both = await gql(client, CREATE, input=[box(episodes[0], 3, score=0.5, confidence=0.6)])
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert both["errors"][0]["extensions"]["field"] == "input[0].score"
    assert "confidence" in both["errors"][0]["message"]
    box_id = made["data"]["createObjectAnnotations"][0]["id"]
    changed = await gql(client, UPDATE, input={"id": box_id, "expectedVersion": 1, "confidence": 0.9})
    assert changed["data"]["updateObjectAnnotation"] == {"version": 2, "score": 0.9, "confidence": 0.9}
    refused = await gql(
        client, UPDATE, input={"id": box_id, "expectedVersion": 2, "score": 0.1, "confidence": 0.2}
    )
    assert refused["errors"][0]["extensions"]["field"] == "input.score"
    stale = await gql(client, UPDATE, input={"id": box_id, "expectedVersion": 1, "score": 0.3})
    current = stale["errors"][0]["extensions"]["current"]
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert current["score"] == current["confidence"] == 0.9  # the old key too, for one release


async def test_certainty_is_also_answered_and_taken_as_confidence(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(client, "{ datasets { edges { node { episode(index: 0) { id } } } } }")
    episode = body["data"]["datasets"]["edges"][0]["node"]["episode"]["id"]
    old = await gql(
        client, SAVE, input={"episodeId": episode, "taskCompleteness": {"rating": "SUCCESS", "confidence": 4}}
    )
    assert old["data"]["saveEpisodeAnnotation"]["taskCompleteness"] == {"certainty": 4, "confidence": 4}
    both = await gql(
        client,
        SAVE,
        input={
            "episodeId": episode,
            "expectedVersion": 1,
            "taskCompleteness": {"rating": "SUCCESS", "certainty": 3, "confidence": 4},
        },
    )
    assert both["errors"][0]["extensions"]["field"] == "input.taskCompleteness.certainty"
    # A revision saved before the rename holds "confidence": a CONFLICT answer still gives both names.
    async with runtime.sessions() as session, session.begin():
        row = (await session.execute(select(AnnotationRevisionRow))).scalars().one()
        content = {("confidence" if k == "certainty" else k): v for k, v in row.content.stored().items()}
        await write_raw_json(session, "annotation_revision", "content", row.id, content)
    blind = await gql(client, SAVE, input={"episodeId": episode, "taskCompleteness": {"rating": "FAILURE"}})
    current = blind["errors"][0]["extensions"]["current"]["taskCompleteness"]
    assert blind["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert current["certainty"] == current["confidence"] == 4 and current["rating"] == "SUCCESS"


async def test_test_session_knobs_take_the_old_names_and_old_criteria_still_read(
    client, runtime, tiny_dataset
):
    await register(runtime, tiny_dataset)
    project, _, _ = await project_with_episodes(client, criteria={"iouThreshold": 0.6})
    base = {"projectId": project, "name": "s", "source": "EXTERNAL"}
    made = await gql(client, SESSION, input=base | {"iouThreshold": 0.4, "confidence": 0.3, "iou": 0.5})
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]
    assert (session["matchIou"], session["iouThreshold"]) == (0.4, 0.4)
    assert session["criteria"] == {"matchIou": 0.6, "iouThreshold": 0.6}
    async with runtime.sessions() as db:
        row = await db.get(TestSessionRow, number(session["id"]))
    assert (row.match_iou, row.settings.score_threshold, row.settings.nms_iou) == (0.4, 0.3, 0.5)
    for given, field in (
        ({"matchIou": 0.5, "iouThreshold": 0.4}, "input.matchIou"),
        ({"scoreThreshold": 0.5, "confidence": 0.4}, "input.scoreThreshold"),
        ({"nmsIou": 0.5, "iou": 0.4}, "input.nmsIou"),
    ):
        body = await gql(client, SESSION, input=base | given)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field
    same = await gql(client, SESSION, input=base | {"matchIou": 0.5, "iouThreshold": 0.5})
    assert same["data"]["createTestSession"]["matchIou"] == 0.5
    # Criteria saved before the rename hold "iouThreshold": read as matchIou, and a session's default.
    async with runtime.sessions() as db, db.begin():
        await write_raw_json(db, "project", "criteria", number(project), {"iouThreshold": 0.7})
    assert (await gql(client, CRITERIA, id=project))["data"]["node"]["criteria"] == {
        "matchIou": 0.7,
        "iouThreshold": 0.7,
    }
    default = await gql(client, SESSION, input=base)
    assert default["data"]["createTestSession"]["matchIou"] == 0.7


def test_detector_settings_saved_before_the_rename_still_read():
    new = stored_detector(SessionSettings.model_validate({"scoreThreshold": 0.3, "nmsIou": 0.6}))
    old = stored_detector(SessionSettings.model_validate({"confidence": 0.3, "iou": 0.6}))
    assert (new.score_threshold, new.nms_iou) == (old.score_threshold, old.nms_iou) == (0.3, 0.6)


def test_revision_content_under_the_old_key_reads_as_the_new_one():
    assert stored_content({"rating": "SUCCESS", "confidence": 4}) == {"rating": "SUCCESS", "certainty": 4}
    assert stored_content({"rating": "SUCCESS", "certainty": 4, "confidence": 4}) == {
        "rating": "SUCCESS",
        "certainty": 4,
    }
    with pytest.raises(ValueError, match="certainty"):
        stored_content({"certainty": 3, "confidence": 4})
    assert with_old_keys({"certainty": 2}) == {"certainty": 2, "confidence": 2}


async def test_an_annograph_file_written_before_the_renames_imports(client, runtime, filled):
    dataset_id, episodes = filled
    before = await all_boxes(client, dataset_id)
    _, archive = await export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    document = json.loads(archive.read("annograph.json"))
    assert all("score" in b and "confidence" not in b for b in document["boxes"])
    assert all("certainty" in a["content"] for a in document["episodeAnnotations"])
    # What an export wrote before: "confidence" for a box's score and for an annotator's certainty.
    for b in document["boxes"]:
        b["confidence"] = b.pop("score")
    for a in document["episodeAnnotations"]:
        a["content"]["confidence"] = a["content"].pop("certainty")
    files = {n: archive.read(n) for n in archive.namelist()}
    old = zip_of(files | {"annograph.json": json.dumps(document)})
    await clear(client, dataset_id)
    result = await upload(client, dataset_id, "old.zip", old)
    assert "errors" not in result, result
    # the episode annotation is the one already there (old key or not), so it is skipped, not refused
    assert result["data"]["importAnnotations"]["episodeAnnotations"] == 0
    assert await all_boxes(client, dataset_id) == before
    document["boxes"][0]["score"] = 0.5  # both names, different values
    document["boxes"][0]["confidence"] = 0.25
    await clear(client, dataset_id)
    both = await upload(
        client, dataset_id, "both.zip", zip_of(files | {"annograph.json": json.dumps(document)})
    )
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", both
    assert "boxes[0].score" in both["errors"][0]["message"]


def zip_of(files: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


CONSENSUS = """query($id: ID!) { node(id: $id) { ... on Episode { consensus {
  grades { name mean spread count } scores { name mean spread count } } } } }"""
PROGRESS = """query($id: ID!) { node(id: $id) { ... on Dataset { annotationProgress {
  gradeAlphas { name alpha } scoreAlphas { name alpha } } } } }"""


async def test_quality_grades_are_also_answered_as_scores(app, runtime, client, ids):
    for name, rating, grades in (
        ("g1", "SUCCESS", {"smoothness": 4, "safety": 5}),
        ("g2", "SUCCESS", {"smoothness": 2, "safety": 5}),
        ("g3", "FAILURE", {"smoothness": 3, "safety": 1}),
    ):
        await consensus_tests.annotate(app, runtime, name, ids[1], rating, grades)
    await consensus_tests.annotate(app, runtime, "g4", ids[0], "SUCCESS", {"smoothness": 5, "safety": 4})
    await consensus_tests.annotate(app, runtime, "g5", ids[0], "PARTIAL", {"smoothness": 1, "safety": 4})
    consensus = (await gql(client, CONSENSUS, id=ids[1]))["data"]["node"]["consensus"]
    smooth = next(g for g in consensus["grades"] if g["name"] == "smoothness")
    assert smooth == {"name": "smoothness", "mean": 3.0, "spread": pytest.approx((2 / 3) ** 0.5), "count": 3}
    assert consensus["scores"] == consensus["grades"]
    progress = (await gql(client, PROGRESS, id=ids["dataset"]))["data"]["node"]["annotationProgress"]
    alphas = {g["name"]: g["alpha"] for g in progress["gradeAlphas"]}
    assert alphas["smoothness"] is not None and alphas["efficiency"] is None
    assert progress["scoreAlphas"] == progress["gradeAlphas"]


ORDERED = """query($id: ID!, $order: EpisodeOrder, $after: String) { node(id: $id) { ... on Dataset {
  episodes(first: 1, orderBy: $order, after: $after) { pageInfo { endCursor } edges { node { index } } }
} } }"""


async def test_the_overall_score_order_sorts_as_the_overall_grade_order(client, runtime, ids):
    async with runtime.sessions() as session, session.begin():
        for episode, grade in ((ids[0], 4), (ids[2], 2)):  # episode 1 has no grade: last
            await session.execute(
                update(EpisodeRow).where(EpisodeRow.id == number(episode)).values(overall_grade=grade)
            )

    async def walk(*orders: str) -> list[int]:
        """The indexes page by page (one episode a page), each page asked in the next of `orders`."""
        indexes, after = [], None
        for order in orders:
            body = await gql(client, ORDERED, id=ids["dataset"], order=order, after=after)
            assert "errors" not in body, body
            page = body["data"]["node"]["episodes"]
            indexes += [e["node"]["index"] for e in page["edges"]]
            after = page["pageInfo"]["endCursor"]
        return indexes

    assert await walk("OVERALL_GRADE", "OVERALL_GRADE", "OVERALL_GRADE") == [2, 0, 1]
    assert await walk("OVERALL_SCORE", "OVERALL_SCORE", "OVERALL_SCORE") == [2, 0, 1]
    # A cursor of one name pages on under the other.
    assert await walk("OVERALL_SCORE", "OVERALL_GRADE", "OVERALL_SCORE") == [2, 0, 1]
    # A cursor handed out before the rename (its order named SCORE) pages on too.
    import base64

    old = base64.urlsafe_b64encode(b"episode-SCORE:2:2").decode()  # after episode 2, grade 2
    body = await gql(client, ORDERED, id=ids["dataset"], order="OVERALL_GRADE", after=old)
    assert [e["node"]["index"] for e in body["data"]["node"]["episodes"]["edges"]] == [0]


GRADES = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes { edges { node { index
  overallGrade overallScore metrics { overallGrade overallScore values } } } } } } }"""


async def test_the_overall_grade_is_also_answered_as_overall_score_and_stored_under_it(client, runtime, ids):
    started = await gql(
        client, analysis_tests.RUN, input={"datasetId": ids["dataset"], "kind": "TRAJECTORY_METRICS"}
    )
    assert "errors" not in started, started
    await runtime.jobs.wait(number(started["data"]["runAnalysis"]["id"]))
    body = await gql(client, GRADES, id=ids["dataset"])
    assert "errors" not in body, body
    episodes = [e["node"] for e in body["data"]["node"]["episodes"]["edges"]]
    assert episodes and all(1 <= e["overallGrade"] <= 5 for e in episodes)
    for e in episodes:
        assert e["overallScore"] == e["overallGrade"] == e["metrics"]["overallGrade"]
        assert e["metrics"]["overallScore"] == e["metrics"]["overallGrade"]
        # The run's values keep the key they were stored with from the start (no migration).
        assert e["metrics"]["values"]["overall_score"] == e["overallGrade"]
        assert "overall_grade" not in e["metrics"]["values"]
    raw = text('SELECT "values" FROM episode_analysis').columns(values=JSONType)
    async with runtime.sessions() as db:
        stored = (await db.execute(raw)).scalars().all()
    assert stored and all("overall_score" in v and "overall_grade" not in v for v in stored)
    summary = (await gql(client, analysis_tests.JOB, id=started["data"]["runAnalysis"]["id"]))["data"]["node"]
    assert summary["summary"]["meanScore"] == sum(e["overallGrade"] for e in episodes) / len(episodes)


def test_episode_metrics_read_the_grade_under_either_name_and_store_it_under_the_first():
    values = {
        "smoothness": 0.5,
        "efficiency": 0.9,
        "jitter": 0.1,
        "hesitation_count": 0,
        "correction_count": 1,
        "path_length": 2.0,
        "flags": [],
    }
    stored = EpisodeMetrics.model_validate(values | {"overall_score": 4})  # as stored
    computed = EpisodeMetrics.model_validate(values | {"overall_grade": 4})  # as a worker computes it
    assert stored.overall_grade == computed.overall_grade == 4
    assert stored.stored() == computed.stored() == values | {"overall_score": 4}
