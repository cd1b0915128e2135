"""Trajectory arrays through the graph match the HDF5 file."""

from __future__ import annotations

import h5py
import numpy as np

from tests.conftest import gql, register
from tests.factories import write_dataset, write_episode

QUERY = """
query($from: Int, $to: Int, $stride: Int) { datasets { edges { node { episode(index: 1) {
  trajectory(fromFrame: $from, toFrame: $to, stride: $stride) {
    frames timestamps jointNames jointPositions jointVelocities eePose gripper actions missing } } } } } }"""


def _trajectory(body: dict) -> dict:
    assert "errors" not in body, body
    return body["data"]["datasets"]["edges"][0]["node"]["episode"]["trajectory"]


async def test_trajectory_matches_file(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    t = _trajectory(await gql(client, QUERY, **{"from": 5, "to": 20, "stride": 3}))
    with h5py.File(tiny_dataset / "episodes" / "episode_000001.hdf5") as f:
        state = f["observation.state"][5:21:3]
        ts = f["timestamp"][5:21:3]
        actions = f["action"][5:21:3]
    assert t["frames"] == [5, 8, 11, 14, 17, 20]
    np.testing.assert_allclose(t["timestamps"], ts)
    assert len(t["jointPositions"]) == 7 and len(t["jointPositions"][0]) == 6
    np.testing.assert_allclose(np.array(t["jointPositions"]).T, state, atol=1e-6)
    np.testing.assert_allclose(np.array(t["actions"]).T, actions, atol=1e-6)
    assert len(t["eePose"]) == 7
    assert t["jointNames"] == [f"joint_{j}" for j in range(1, 8)]
    assert t["missing"] == []


async def test_trajectory_defaults_to_whole_episode(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    t = _trajectory(await gql(client, QUERY))
    assert t["frames"] == list(range(50))


async def test_trajectory_bad_ranges(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    for args, field in [
        ({"from": -1}, "fromFrame"),
        ({"to": 50}, "toFrame"),
        ({"from": 10, "to": 5}, "toFrame"),
        ({"stride": 0}, "stride"),
    ]:
        body = await gql(client, QUERY, **args)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, args


async def test_missing_datasets_and_nan_are_null(client, runtime, data_root):
    folder = write_dataset(data_root / "partial", episodes=2)
    path = folder / "episodes" / "episode_000001.hdf5"
    write_episode(path, 1, 30, skip=("observation.velocity", "action"))
    with h5py.File(path, "r+") as f:
        f["observation.state"][3, 2] = np.nan
    await register(runtime, folder)
    t = _trajectory(await gql(client, QUERY))
    assert t["jointVelocities"] is None and t["actions"] is None
    assert t["missing"] == ["action", "observation.velocity"]
    assert t["jointPositions"][2][3] is None
    assert t["jointPositions"][2][4] is not None
    body = await gql(client, "{ datasets { edges { node { episode(index: 1) { missingData } } } } }")
    assert body["data"]["datasets"]["edges"][0]["node"]["episode"]["missingData"] == [
        "action",
        "observation.velocity",
    ]
