"""registerDataset: a job with progress, clear errors, nothing half-registered, no duplicates."""

from __future__ import annotations

import json
import os

from strawberry.relay import GlobalID

from tests.conftest import gql
from tests.factories import write_dataset

REGISTER = """mutation($path: String!, $name: String) { registerDataset(input: {path: $path, name: $name}) {
  id kind status version progress } }"""
JOB = """query($id: ID!) { node(id: $id) { ... on Job { status progress version errorCode errorMessage summary
  dataset { name episodeCount } } } }"""


async def _register(client, runtime, path, name=None) -> dict:
    body = await gql(client, REGISTER, path=str(path), name=name)
    assert "errors" not in body, body
    job = body["data"]["registerDataset"]
    await runtime.jobs.wait(int(GlobalID.from_id(job["id"]).node_id))
    done = await gql(client, JOB, id=job["id"])
    return {**job, **done["data"]["node"], "id": job["id"]}


async def _counts(client) -> tuple[int, int]:
    body = await gql(client, "{ datasets { totalCount edges { node { episodeCount } } } }")
    conn = body["data"]["datasets"]
    return conn["totalCount"], sum(e["node"]["episodeCount"] for e in conn["edges"])


async def test_register_runs_as_job(client, runtime, tiny_dataset):
    job = await _register(client, runtime, tiny_dataset, name="Tiny set")
    assert job["kind"] == "INDEXING" and job["version"] == 1
    assert job["status"] == "COMPLETED" and job["progress"] == 1.0
    assert job["dataset"] == {"name": "Tiny set", "episodeCount": 3}
    assert job["summary"]["episodes"] == 3


async def test_register_relative_path_and_twice_does_not_duplicate(client, runtime, tiny_dataset):
    first = await _register(client, runtime, "tiny")
    assert first["status"] == "COMPLETED"
    # The folder changes: one more episode. Registering again re-indexes the same dataset.
    write_dataset(tiny_dataset, episodes=4)
    second = await _register(client, runtime, tiny_dataset)
    assert second["status"] == "COMPLETED" and second["version"] == 2
    assert await _counts(client) == (1, 4)
    jobs = await gql(client, "{ jobs { totalCount edges { node { version kind } } } }")
    assert [e["node"]["version"] for e in jobs["data"]["jobs"]["edges"]] == [2, 1]


async def _bad(client, path) -> dict:
    body = await gql(client, REGISTER, path=str(path))
    assert body["data"] is None
    return body["errors"][0]


async def test_bad_paths_are_rejected_at_once(client, runtime, tiny_dataset, tmp_path):
    outside = write_dataset(tmp_path / "elsewhere")
    error = await _bad(client, outside)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.path"}
    assert "outside the data roots" in error["message"] and str(outside) in error["message"]

    escape = tiny_dataset.parent / "link"
    os.symlink(outside, escape)
    assert "outside the data roots" in (await _bad(client, escape))["message"]
    assert (
        "outside the data roots" in (await _bad(client, tiny_dataset / ".." / ".." / "elsewhere"))["message"]
    )
    assert "no such file or folder" in (await _bad(client, tiny_dataset.parent / "nope"))["message"]

    (tiny_dataset / "info.json").unlink()
    error = await _bad(client, tiny_dataset)
    assert "not a dataset of a known format" in error["message"] and str(tiny_dataset) in error["message"]
    assert "info.json" in error["message"]
    (tiny_dataset / "info.json").write_text("{not json")
    assert "unreadable info.json" in (await _bad(client, tiny_dataset))["message"]
    (tiny_dataset / "info.json").write_text(json.dumps({"name": "x"}))
    assert "'fps'" in (await _bad(client, tiny_dataset))["message"]
    assert await _counts(client) == (0, 0)
    jobs = await gql(client, "{ jobs { totalCount } }")
    assert jobs["data"]["jobs"]["totalCount"] == 0


async def test_truncated_episode_fails_the_job_and_writes_nothing(client, runtime, tiny_dataset):
    victim = tiny_dataset / "episodes" / "episode_000002.hdf5"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    job = await _register(client, runtime, tiny_dataset)
    assert job["status"] == "FAILED"
    assert job["errorCode"] == "BAD_USER_INPUT"
    assert str(victim) in job["errorMessage"] and "truncated" in job["errorMessage"]
    assert await _counts(client) == (0, 0)


async def test_failed_reindex_keeps_previous_index(client, runtime, tiny_dataset):
    await _register(client, runtime, tiny_dataset)
    write_dataset(tiny_dataset, episodes=4)
    (tiny_dataset / "episodes" / "episode_000003.hdf5").write_bytes(b"not hdf5 at all")
    job = await _register(client, runtime, tiny_dataset)
    assert job["status"] == "FAILED" and "episode_000003.hdf5" in job["errorMessage"]
    assert await _counts(client) == (1, 3)


async def test_jobs_filter(client, runtime, tiny_dataset, data_root):
    await _register(client, runtime, tiny_dataset)
    other = write_dataset(data_root / "other", episodes=1)
    (other / "episodes" / "episode_000000.hdf5").write_bytes(b"broken")
    await _register(client, runtime, other)
    body = await gql(
        client, "{ jobs(filter: {status: [FAILED]}) { totalCount edges { node { errorCode } } } }"
    )
    assert body["data"]["jobs"]["totalCount"] == 1
    body = await gql(
        client,
        "{ jobs(filter: {kind: INDEXING, status: [COMPLETED, FAILED]}, first: 1) { totalCount pageInfo { hasNextPage } } }",
    )
    assert body["data"]["jobs"] == {"totalCount": 2, "pageInfo": {"hasNextPage": True}}
    datasets = await gql(client, "{ datasets { edges { node { id } } } }")
    dataset_id = datasets["data"]["datasets"]["edges"][0]["node"]["id"]
    body = await gql(client, "query($d: ID!) { jobs(filter: {datasetId: $d}) { totalCount } }", d=dataset_id)
    assert body["data"]["jobs"]["totalCount"] == 1
    body = await gql(
        client, "query($d: ID!) { jobs(filter: {datasetId: $d}) { totalCount } }", d=str(GlobalID("Job", "1"))
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.datasetId"}
