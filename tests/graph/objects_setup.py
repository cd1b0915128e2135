"""Shared setup for box tests: a registered tiny dataset (64 x 48 frames) with three labels."""

from __future__ import annotations

from tests.conftest import gql

LABEL = "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id name color parent { name } } }"
CREATE = """mutation($input: [CreateObjectAnnotationInput!]!) { createObjectAnnotations(input: $input) {
  id camera frame trackId source keyframe version review validated label { name }
  box { x y width height } } }"""
OBJECTS = """query($id: ID!, $camera: String, $frame: Int, $from: Int, $to: Int, $track: String, $label: String,
  $source: ObjectSource, $validated: Boolean, $first: Int, $after: String) { node(id: $id) { ... on Episode {
  objects(camera: $camera, frame: $frame, fromFrame: $from, toFrame: $to, trackId: $track, label: $label,
          source: $source, validated: $validated, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id frame trackId source keyframe review label { name } box { x y width height } } } } } } }"""


async def labelled_dataset(client) -> tuple[str, list[str]]:
    """The dataset id and its episode ids; labels pedestrian, cyclist (child of vehicle)."""
    body = await gql(client, "{ datasets { edges { node { id episodes { edges { node { id } } } } } } }")
    node = body["data"]["datasets"]["edges"][0]["node"]
    dataset_id = node["id"]
    for name, parent in (("pedestrian", None), ("vehicle", None), ("cyclist", "vehicle")):
        parent_id = None
        if parent:
            labels = await gql(
                client,
                "query($id: ID!) { node(id: $id) { ... on Dataset { labels { id name } } } }",
                id=dataset_id,
            )
            parent_id = next(lab["id"] for lab in labels["data"]["node"]["labels"] if lab["name"] == parent)
        made = await gql(client, LABEL, input={"datasetId": dataset_id, "name": name, "parentId": parent_id})
        assert "errors" not in made, made
    return dataset_id, [e["node"]["id"] for e in node["episodes"]["edges"]]


def box(
    episode_id: str, frame: int = 0, x: float = 10, y: float = 5, w: float = 20, h: float = 30, **extra
) -> dict:
    return {
        "episodeId": episode_id,
        "camera": "front",
        "frame": frame,
        "label": "pedestrian",
        "box": {"x": x, "y": y, "width": w, "height": h},
        **extra,
    }


async def objects(client, episode_id: str, **filters) -> dict:
    body = await gql(client, OBJECTS, id=episode_id, **filters)
    assert "errors" not in body, body
    return body["data"]["node"]["objects"]
