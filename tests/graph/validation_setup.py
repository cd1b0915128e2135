"""Shared setup for project and test-session tests: the tiny dataset (3 episodes of 40/50/60 frames,
camera `front`, 64 x 48) with labels and validated ground truth, and a project linking it."""

from __future__ import annotations

from tests.conftest import gql
from tests.graph.objects_setup import CREATE, labelled_dataset

VALIDATE = (
    """mutation($ids: [ID!]!) { validateObjectAnnotations(ids: $ids, validated: true) { id review } }"""
)
PROJECT = """mutation($input: CreateProjectInput!) { createProject(input: $input) { id name status labels version
  criteria { minPrecision minRecall minF1 minAp50 maxP95LatencyMs matchIou } } }"""
LINK = """mutation($p: ID!, $e: [ID!]!, $r: String) { linkEpisodes(projectId: $p, episodeIds: $e, reason: $r) {
  changed project { episodeCount episodes { id } } } }"""


async def ground_truth(client, episode_id: str, boxes: list[tuple], validated: bool = True) -> list[str]:
    """Boxes (frame, label, x, y, w, h) on camera front; validated unless told otherwise."""
    drafts = [
        {
            "episodeId": episode_id,
            "camera": "front",
            "frame": f,
            "label": lab,
            "box": {"x": x, "y": y, "width": w, "height": h},
        }
        for f, lab, x, y, w, h in boxes
    ]
    made = await gql(client, CREATE, input=drafts)
    assert "errors" not in made, made
    ids = [b["id"] for b in made["data"]["createObjectAnnotations"]]
    if validated:
        done = await gql(client, VALIDATE, ids=ids)
        assert "errors" not in done, done
    return ids


async def project_with_episodes(client, name: str = "p", labels=("pedestrian", "vehicle"), criteria=None):
    """(project id, episode ids, dataset id) with all tiny episodes linked."""
    dataset_id, episode_ids = await labelled_dataset(client)
    made = await gql(client, PROJECT, input={"name": name, "labels": list(labels), "criteria": criteria})
    assert "errors" not in made, made
    project_id = made["data"]["createProject"]["id"]
    linked = await gql(client, LINK, p=project_id, e=episode_ids, r="all of tiny")
    assert "errors" not in linked, linked
    return project_id, episode_ids, dataset_id
