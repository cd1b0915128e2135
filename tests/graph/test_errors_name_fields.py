"""Domain errors name domain fields; the client sees the argument it sent.

A service names the value at fault in domain terms (`expected_version`, `criteria.min_ap50`); the
graph's error extension writes it as the path of the argument (`input.expectedVersion`), and request
models checked at the edge (graph/inputs.py) name their values the same way. A small schema with the
app's error extension shows each rule; no domain module writes a GraphQL path itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import strawberry
from pydantic import BaseModel, Field, model_validator
from strawberry.scalars import JSON

from domain.core.errors import BadUserInput, Conflict, Invalid, NotFound
from graph.errors import ErrorCodes
from graph.field_paths import client_path
from graph.inputs import checked
from tests.conftest import gql

ROOT = Path(__file__).resolve().parents[2]


class Criteria(BaseModel):
    min_ap50: float | None = Field(default=None, ge=0, le=1)


class Request(BaseModel):
    """A domain request model: bounds on its fields and a check of two fields together."""

    name: str
    dataset_id: int | None = None
    episode_ids: list[int] | None = None
    criteria: Criteria = Criteria()

    @model_validator(mode="after")
    def _one_selection(self) -> Request:
        if (self.dataset_id is None) == (self.episode_ids is None):
            raise Invalid("give exactly one of a dataset and episodes", field="dataset_id")
        return self


@strawberry.input
class CriteriaInput:
    min_ap50: float | None = None


@strawberry.input
class CameraInput:
    name: str
    crop_x: int = 0


@strawberry.input
class ChangeInput:
    id: int
    expected_version: int
    name: str = "x"
    dataset_id: int | None = None
    episode_ids: list[int] | None = None
    criteria: CriteriaInput | None = None
    cameras: list[CameraInput] | None = None
    parameters: JSON | None = None


@strawberry.input
class BoxInput:
    label: str


@strawberry.type
class Query:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class Mutation:
    @strawberry.mutation
    def change(self, input: ChangeInput, domain_field: str) -> bool:
        """Raises what a service would: a CONFLICT naming `domain_field`, message starting with it."""
        raise Conflict(f"{domain_field}: the thing is at version 3", field=domain_field)

    @strawberry.mutation
    def episodes(self, episode_ids: list[int], from_frame: int = 0) -> bool:
        raise NotFound(f"episode_ids.1: episode {episode_ids[1]} does not exist", field="episode_ids.1")

    @strawberry.mutation
    def trajectory(self, from_frame: int) -> bool:
        raise BadUserInput(f"from_frame must be at least 0, got {from_frame}", field="from_frame")

    @strawberry.mutation
    def create(self, input: ChangeInput) -> bool:
        checked(
            Request,
            name=input.name,
            dataset_id=input.dataset_id,
            episode_ids=input.episode_ids,
            criteria={} if input.criteria is None else {"min_ap50": input.criteria.min_ap50},
        )
        return True

    @strawberry.mutation
    def create_boxes(self, input: list[BoxInput]) -> bool:
        if len(input) > 1:
            raise BadUserInput("at most 1 box per batch", field="")
        raise BadUserInput(f"0.label: {input[0].label!r} is not in the label set", field="0.label")


schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[ErrorCodes])


def error_of(query: str, variables: dict | None = None) -> dict:
    result = schema.execute_sync(query, variable_values=variables)
    assert result.errors, result
    (error,) = result.errors
    return {"message": error.message, **(error.extensions or {})}


CHANGE = "mutation($f: String!) { change(input: {id: 1, expectedVersion: 2}, domainField: $f) }"


def test_a_domain_field_is_shown_inside_the_input_argument():
    error = error_of(CHANGE, {"f": "expected_version"})
    assert error == {
        "message": "input.expectedVersion: the thing is at version 3",
        "code": "CONFLICT",
        "field": "input.expectedVersion",
    }


def test_a_field_named_like_an_argument_is_that_argument():
    assert error_of(CHANGE, {"f": "domain_field"})["field"] == "domainField"


def test_a_path_in_the_clients_terms_passes_unchanged():
    for path in ("input.expectedVersion", "input.criteria.minAp50", "input.episodeIds[1]"):
        error = error_of(CHANGE, {"f": path})
        assert (error["field"], error["message"]) == (path, f"{path}: the thing is at version 3")


def test_nested_paths_list_indexes_and_json_keys():
    cases = {
        "criteria.min_ap50": "input.criteria.minAp50",
        "episode_ids.2": "input.episodeIds[2]",
        "episode_ids[2]": "input.episodeIds[2]",
        "cameras.2.crop_x": "input.cameras[2].cropX",
        # A value the input type lacks (given grouped otherwise) is camelCased all the same.
        "frame_stride": "input.frameStride",
        "crop.min_x": "input.crop.minX",
        # Past what the schema describes the path is the client's own, written as sent: a JSON
        # value's keys, a list's item named by its key.
        "parameters.velocity_threshold": "input.parameters.velocity_threshold",
        "parameters.bands.0.low_hz": "input.parameters.bands.0.low_hz",
        "cameras.wrist_left.crop_x": "input.cameras.wrist_left.crop_x",
    }
    for domain, client in cases.items():
        assert error_of(CHANGE, {"f": domain})["field"] == client, domain


def test_a_top_level_argument_is_named_without_input():
    error = error_of("mutation { episodes(episodeIds: [4, 5]) }")
    assert error == {
        "message": "episodeIds[1]: episode 5 does not exist",
        "code": "NOT_FOUND",
        "field": "episodeIds[1]",
    }
    error = error_of("mutation { trajectory(fromFrame: -1) }")
    assert (error["field"], error["message"]) == ("fromFrame", "fromFrame must be at least 0, got -1")


def test_a_list_input_is_indexed_and_the_empty_path_is_the_whole_input():
    error = error_of('mutation { createBoxes(input: [{label: "cat"}]) }')
    assert (error["field"], error["message"]) == (
        "input[0].label",
        "input[0].label: 'cat' is not in the label set",
    )
    error = error_of('mutation { createBoxes(input: [{label: "a"}, {label: "b"}]) }')
    assert error["field"] == "input"


def test_an_alias_and_a_fragment_find_the_same_field():
    query = """
        mutation($f: String!) { ...m }
        fragment m on Mutation { renamed: change(input: {id: 1, expectedVersion: 2}, domainField: $f) }
    """
    assert error_of(query, {"f": "expected_version"})["field"] == "input.expectedVersion"


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        (
            "criteria: {minAp50: 1.5}",
            "input.criteria.minAp50",
            "input.criteria.minAp50: Input should be less than or equal to 1, got 1.5",
        ),
        (
            "datasetId: 1, episodeIds: [2]",
            "input.datasetId",
            "input.datasetId: give exactly one of a dataset and episodes",
        ),
    ],
)
def test_a_request_model_checked_at_the_edge_names_the_argument(given, field, message):
    error = error_of(f"mutation {{ create(input: {{id: 1, expectedVersion: 1, {given}}}) }}")
    assert error == {"message": message, "code": "BAD_USER_INPUT", "field": field}


def test_checked_names_the_domain_path():
    with pytest.raises(BadUserInput) as raised:
        checked(Request, name="x", dataset_id=1, criteria={"min_ap50": -1})
    assert raised.value.field == "criteria.min_ap50"
    assert raised.value.message.startswith("criteria.min_ap50: Input should be greater than or equal to 0")


def test_without_a_schema_the_path_is_camel_cased():
    assert client_path("criteria.min_ap50", {"input": None}) == "input.criteria.minAp50"
    assert client_path("expected_version", {}) == "expectedVersion"
    assert client_path("episode_ids.3", {"episodeIds": None}) == "episodeIds[3]"


async def test_one_domain_path_is_each_mutations_own_argument(client):
    """The service names `criteria.min_ap50` whichever mutation called it; each client sees the
    argument it sent (the app's schema, both databases)."""
    made = await gql(client, 'mutation { createProject(input: {name: "p"}) { id } }')
    project = made["data"]["createProject"]["id"]
    calls = [
        ('mutation { createProject(input: {name: "q", criteria: {minAp50: 1.5}}) { id } }', "input.criteria"),
        (
            "mutation($p: ID!) { updateProject(input: {id: $p, criteria: {minAp50: 1.5}}) { id } }",
            "input.criteria",
        ),
        (
            "mutation($p: ID!) { setPassFailCriteria(projectId: $p, criteria: {minAp50: 1.5}) { id } }",
            "criteria",
        ),
    ]
    for query, where in calls:
        body = await gql(client, query, **({"p": project} if "$p" in query else {}))
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": f"{where}.minAp50"}, body
        assert error["message"] == f"{where}.minAp50: must be between 0 and 1, got 1.5"
    taken = await gql(client, 'mutation { createProject(input: {name: "p"}) { id } }')
    assert taken["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "input.name"}
    assert taken["errors"][0]["message"] == "input.name: a project named 'p' exists"


# A GraphQL argument path in domain code: `"input.x"`, `f"input.{...}"` or `"input[..."`.
GRAPH_PATH = re.compile(r"""\bf?["']input[.\[]""")


def test_no_domain_module_writes_a_graphql_argument_path():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "domain").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if GRAPH_PATH.search(line)
    ]
    assert not found, "domain names fields in its own terms (graph/field_paths.py):\n" + "\n".join(found)
