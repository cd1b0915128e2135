"""updateLabel: renames, recolours and re-parents in one transaction with its checks."""

from __future__ import annotations

import pytest

from tests.conftest import gql, register
from tests.graph.objects_setup import labelled_dataset

UPDATE = (
    """mutation($input: UpdateLabelInput!) { updateLabel(input: $input) { id name color parent { name } } }"""
)
LABELS = "query($id: ID!) { node(id: $id) { ... on Dataset { labels { id name color parent { name } } } } }"


@pytest.fixture
async def labels(client, runtime, tiny_dataset) -> dict[str, str]:
    """Label name -> id: pedestrian, vehicle, cyclist (child of vehicle)."""
    await register(runtime, tiny_dataset)
    dataset_id, _ = await labelled_dataset(client)
    body = await gql(client, LABELS, id=dataset_id)
    return {lab["name"]: lab["id"] for lab in body["data"]["node"]["labels"]}


async def test_a_label_is_renamed_recoloured_and_reparented(client, labels):
    body = await gql(
        client,
        UPDATE,
        input={
            "id": labels["pedestrian"],
            "name": "person",
            "color": "#112233",
            "parentId": labels["cyclist"],
        },
    )
    assert "errors" not in body, body
    assert body["data"]["updateLabel"] == {
        "id": labels["pedestrian"],
        "name": "person",
        "color": "#112233",
        "parent": {"name": "cyclist"},
    }
    cleared = await gql(client, UPDATE, input={"id": labels["cyclist"], "clearParent": True})
    assert cleared["data"]["updateLabel"]["parent"] is None
    assert cleared["data"]["updateLabel"]["name"] == "cyclist"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"parentId": "self"}, "BAD_USER_INPUT", "input.parentId"),  # its own parent
        ({"parentId": "cyclist", "id": "vehicle"}, "BAD_USER_INPUT", "input.parentId"),  # a cycle
        ({"name": "cyclist"}, "CONFLICT", "input.name"),  # taken
        ({"color": "red"}, "BAD_USER_INPUT", "input.color"),
    ],
)
async def test_a_refused_change_names_its_field_and_changes_nothing(client, labels, change, code, field):
    given = {"id": labels["pedestrian"], **change}
    given["id"] = labels[given["id"]] if given["id"] in labels else given["id"]
    if "parentId" in given:
        given["parentId"] = given["id"] if given["parentId"] == "self" else labels[given["parentId"]]
    body = await gql(client, UPDATE, input=given)
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["extensions"]["field"] == field
    dataset = await gql(client, "{ datasets { edges { node { id } } } }")
    after = await gql(client, LABELS, id=dataset["data"]["datasets"]["edges"][0]["node"]["id"])
    assert {(lab["name"], (lab["parent"] or {}).get("name")) for lab in after["data"]["node"]["labels"]} == {
        ("pedestrian", None),
        ("vehicle", None),
        ("cyclist", "vehicle"),
    }
