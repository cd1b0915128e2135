"""The minimal alternative to annograph's frame route that the frames bench measures against: a
Starlette app that reads a frame with h5py and encodes it with Pillow on every request (no cache,
no database, no authentication). Episode files are opened once, on first use.

    ANNOGRAPH_BENCH_DATASET=<dataset folder> uvicorn bench.frames_reference:app

GET /episodes/{index}/cameras/{camera}/frames/{frame}.jpg[?quality=Q] -> image/jpeg (Q: 85 unless given).
GET /cached/{index}/{camera}/{frame}.jpg -> the same JPEG, encoded on first request and then returned
from a dict: the ceiling of a Python server on this machine, for the repeated-frame figure.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import h5py
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FOLDER = Path(os.environ.get("ANNOGRAPH_BENCH_DATASET", "."))
_files: dict[int, h5py.File] = {}


_cached: dict[tuple, bytes] = {}


def _encode(index: int, camera: str, frame: int, quality: int) -> bytes:
    if index not in _files:
        _files[index] = h5py.File(FOLDER / "episodes" / f"episode_{index:06d}.hdf5", "r")
    pixels = _files[index][f"observation.images.{camera}"][frame]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def frame(request: Request) -> Response:
    p = request.path_params
    quality = int(request.query_params.get("quality", 85))
    return Response(_encode(p["index"], p["camera"], p["frame"], quality), media_type="image/jpeg")


async def cached(request: Request) -> Response:
    p = request.path_params
    key = (p["index"], p["camera"], p["frame"])
    if key not in _cached:
        _cached[key] = _encode(*key, 85)
    return Response(_cached[key], media_type="image/jpeg")


app = Starlette(
    routes=[
        Route("/episodes/{index:int}/cameras/{camera}/frames/{frame:int}.jpg", frame),
        Route("/cached/{index:int}/{camera}/{frame:int}.jpg", cached),
    ]
)
