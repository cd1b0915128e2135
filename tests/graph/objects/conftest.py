"""Fixtures of the box tests."""

from __future__ import annotations

import pytest

from tests.conftest import gql, register
from tests.factories import write_dataset
from tests.graph.objects_setup import LABEL


@pytest.fixture
async def field_dataset(client, runtime, data_root) -> str:
    """The field cases' dataset: episodes 0-3 with cameras front and side of 320 x 240, labels pedestrian
    and cyclist."""
    await register(
        runtime, write_dataset(data_root / "field", episodes=4, cameras=("front", "side"), size=(240, 320))
    )
    body = await gql(client, "{ datasets { edges { node { id } } } }")
    dataset_id = body["data"]["datasets"]["edges"][0]["node"]["id"]
    for name in ("pedestrian", "cyclist"):
        made = await gql(client, LABEL, input={"datasetId": dataset_id, "name": name})
        assert "errors" not in made, made
    return dataset_id
