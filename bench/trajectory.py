"""Trajectory of a 600-frame episode through GraphQL over HTTP, against reading the same arrays
with h5py and serialising them with the same JSON encoder (Strawberry's json.dumps) in one process.

    .venv/bin/python -m bench.trajectory
"""

from __future__ import annotations

import json

import h5py
import httpx
import numpy as np

from bench.harness import running_server, timed
from domain.datasets.demo import DemoSpec

QUERY = """{ datasets { edges { node { episode(index: 0) { trajectory {
  frames timestamps jointNames jointPositions jointVelocities eePose gripper actions missing } } } } } }"""
NAMES = [
    "timestamp",
    "observation.state",
    "observation.velocity",
    "observation.ee_pose",
    "observation.gripper",
    "action",
]
REPEAT = 50


def reference(path) -> str:
    with h5py.File(path, "r") as f:
        arrays = {name: f[name][:] for name in NAMES}
    body = {
        "frames": np.arange(len(arrays["timestamp"])).tolist(),
        **{name: (a.T if a.ndim == 2 else a).tolist() for name, a in arrays.items()},
    }
    return json.dumps(body, separators=(",", ":"))


def main() -> None:
    spec = DemoSpec(episodes=1, min_length=600, max_length=600)
    with (
        running_server(spec) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as client,
    ):
        path = server.dataset / "episodes" / "episode_000000.hdf5"

        def through_graph() -> None:
            response = client.post("/graphql", json={"query": QUERY})
            response.raise_for_status()
            assert "errors" not in response.json()

        graph = timed(through_graph, REPEAT)
        direct = timed(lambda: reference(path), REPEAT)
        size = len(client.post("/graphql", json={"query": QUERY}).content)
    print(f"trajectory, 600 frames, {size / 1024:.0f} KiB of JSON, median of {REPEAT}")
    print(f"  GraphQL over HTTP : {graph * 1000:8.2f} ms")
    print(f"  h5py + json.dumps : {direct * 1000:8.2f} ms")
    print(f"  ratio             : {graph / direct:8.2f}x")


if __name__ == "__main__":
    main()
