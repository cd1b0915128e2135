"""Segments and their vocabulary leave in annograph JSON and come back exactly."""

from __future__ import annotations

import json

from tests.conftest import gql, http_client, make_user, register
from tests.graph.objects.test_annotation_transfer import export, upload, zipped
from tests.graph.segments.test_segments import CREATE, DELETE, LABEL, UPDATE, segment

READ = """query($id: ID!) { node(id: $id) { ... on Dataset { segmentLabels { id name color mayOverlap }
  episodes { edges { node { index segments { id version fromFrame toFrame fromTime toTime instruction notes
    label { name } annotator { name } } } } } } } }"""


def without_ids(body: dict) -> dict:
    node = body["data"]["node"]
    return {
        "labels": [{k: v for k, v in lab.items() if k != "id"} for lab in node["segmentLabels"]],
        "segments": [
            (e["node"]["index"], {k: v for k, v in s.items() if k != "id"})
            for e in node["episodes"]["edges"]
            for s in e["node"]["segments"]
        ],
    }


async def test_segments_round_trip_exactly_with_their_vocabulary(app, client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    found = await gql(client, "{ datasets { edges { node { id episodes { edges { node { id } } } } } } }")
    node = found["data"]["datasets"]["edges"][0]["node"]
    dataset_id, episodes = node["id"], [e["node"]["id"] for e in node["episodes"]["edges"]]
    reach = (await gql(client, LABEL, input={"datasetId": dataset_id, "name": "reach"}))["data"]
    gaze = await gql(
        client, LABEL, input={"datasetId": dataset_id, "name": "gaze", "color": "#00FF00", "mayOverlap": True}
    )
    labels = {"reach": reach["createSegmentLabel"]["id"], "gaze": gaze["data"]["createSegmentLabel"]["id"]}
    async with http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as anna:
        made = await gql(
            anna,
            CREATE,
            input=segment(episodes[1], labels["reach"], 3, 12, instruction="reach it", notes="slow"),
        )
        first = made["data"]["createEpisodeSegment"]["id"]
        await gql(
            anna,
            UPDATE,
            input={
                "id": first,
                "expectedVersion": 1,
                "labelId": labels["reach"],
                "fromFrame": 3,
                "toFrame": 14,
            },
        )
        made = await gql(anna, CREATE, input=segment(episodes[1], labels["gaze"], 15, 30))
        assert "errors" not in made, made
    await gql(client, CREATE, input=segment(episodes[2], labels["gaze"], 5, 9, instruction="look"))
    before = without_ids(await gql(client, READ, id=dataset_id))
    assert len(before["segments"]) == 3

    _, archive = await export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    document = json.loads(archive.read("annograph.json"))
    assert [lab["name"] for lab in document["segmentLabels"]] == ["reach", "gaze"]
    assert {s["version"] for s in document["segments"]} == {1, 2}

    # Empty the dataset's segments and vocabulary, then import the file back.
    stored = (await gql(client, READ, id=dataset_id))["data"]["node"]
    for edge in stored["episodes"]["edges"]:
        for s in edge["node"]["segments"]:
            assert (await gql(client, DELETE, id=s["id"], v=s["version"]))["data"]["deleteEpisodeSegment"]
    for lab in stored["segmentLabels"]:
        await gql(client, "mutation($id: ID!) { deleteSegmentLabel(id: $id) }", id=lab["id"])
    assert without_ids(await gql(client, READ, id=dataset_id)) == {"labels": [], "segments": []}

    result = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert "errors" not in result, result
    assert without_ids(await gql(client, READ, id=dataset_id)) == before
    again = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert "errors" not in again, again
    assert without_ids(await gql(client, READ, id=dataset_id)) == before  # identical segments skipped
    _, second = await export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    document_again = json.loads(second.read("annograph.json"))
    assert (document_again["segmentLabels"], document_again["segments"]) == (
        document["segmentLabels"],
        document["segments"],
    )


async def test_an_imported_segment_breaking_the_overlap_rule_is_refused_and_writes_nothing(
    app, client, runtime, tiny_dataset
):
    await register(runtime, tiny_dataset)
    found = await gql(client, "{ datasets { edges { node { id episodes { edges { node { id } } } } } } }")
    node = found["data"]["datasets"]["edges"][0]["node"]
    dataset_id, episodes = node["id"], [e["node"]["id"] for e in node["episodes"]["edges"]]
    reach = (await gql(client, LABEL, input={"datasetId": dataset_id, "name": "reach"}))["data"]
    async with http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as anna:
        made = await gql(anna, CREATE, input=segment(episodes[1], reach["createSegmentLabel"]["id"], 3, 12))
        assert "errors" not in made, made
    _, archive = await export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    document = json.loads(archive.read("annograph.json"))
    (stored,) = document["segments"]
    # A second `reach` segment of anna's on frames 10..20: reach segments may not overlap others.
    document["segments"].append({**stored, "fromFrame": 10, "toFrame": 20, "version": 1})
    before = without_ids(await gql(client, READ, id=dataset_id))
    result = await upload(client, dataset_id, "annograph.json", json.dumps(document).encode())
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "segments[1].fromFrame" in error["message"] and "may not overlap" in error["message"], error
    assert without_ids(await gql(client, READ, id=dataset_id)) == before
