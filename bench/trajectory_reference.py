"""The minimal alternative to annograph's `trajectory` field that the trajectory bench measures against:
a Starlette app that reads an episode's arrays with h5py and answers them as JSON by orjson, columnar
as annograph answers them (one inner array per joint or component), on every request (no cache, no
database, no authentication). Episode files are opened once, on first use.

    ANNOGRAPH_BENCH_DATASET=<dataset folder> uvicorn bench.trajectory_reference:app

GET /episodes/{index}/trajectory -> {"frames", "timestamps", "jointPositions", "jointVelocities",
"eePose", "gripper", "actions"}.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FOLDER = Path(os.environ.get("ANNOGRAPH_BENCH_DATASET", "."))
FIELDS = {
    "timestamps": "timestamp",
    "jointPositions": "observation.state",
    "jointVelocities": "observation.velocity",
    "eePose": "observation.ee_pose",
    "gripper": "observation.gripper",
    "actions": "action",
}
_files: dict[int, h5py.File] = {}


def trajectory(request: Request) -> Response:
    index = request.path_params["index"]
    if index not in _files:
        _files[index] = h5py.File(FOLDER / "episodes" / f"episode_{index:06d}.hdf5", "r")
    f = _files[index]
    body: dict = {}
    for name, key in FIELDS.items():
        array = f[key][:]
        body[name] = np.ascontiguousarray(array.T) if array.ndim == 2 else array
    body["frames"] = np.arange(len(body["timestamps"]))
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


app = Starlette(routes=[Route("/episodes/{index:int}/trajectory", trajectory)])
