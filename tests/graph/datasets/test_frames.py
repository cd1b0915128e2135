"""Frames over HTTP: JPEG, resizing, ETag and 304, 404 and 400 with reasons."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.conftest import gql, register
from tests.factories import frame_pixels

URL = """query($frame: Int!, $camera: String!, $width: Int, $quality: Int) { datasets { edges { node {
  episode(index: 2) { frameUrl(frame: $frame, camera: $camera, width: $width, quality: $quality) } } } } }"""


async def _url(client, **args) -> str:
    body = await gql(client, URL, **args)
    assert "errors" not in body, body
    return body["data"]["datasets"]["edges"][0]["node"]["episode"]["frameUrl"]


async def test_frame_served_as_jpeg_with_cache_headers(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    url = await _url(client, frame=7, camera="front")
    response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert "max-age=31536000" in response.headers["cache-control"]
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    assert image.shape == (48, 64, 3)
    expected = frame_pixels(2, 7, 48, 64)
    assert np.abs(image.astype(int) - expected.astype(int)).mean() < 3

    etag = response.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get(await _url(client, frame=8, camera="front"), headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


async def test_width_and_quality(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    small = await client.get(await _url(client, frame=0, camera="front", width=32, quality=40))
    assert small.status_code == 200
    assert Image.open(io.BytesIO(small.content)).size == (32, 24)


async def test_errors(client, runtime, tiny_dataset):
    dataset_id = await register(runtime, tiny_dataset)
    base = f"/media/datasets/{dataset_id}/episodes"
    cases = {
        "/media/datasets/999/episodes/0/cameras/front/frames/0.jpg": (404, "dataset 999"),
        f"{base}/9/cameras/front/frames/0.jpg": (404, "no episode 9"),
        f"{base}/0/cameras/rear/frames/0.jpg": (404, "no camera 'rear'"),
        f"{base}/0/cameras/front/frames/40.jpg": (404, "frame must be between 0 and 39"),
        f"{base}/0/cameras/front/frames/0.jpg?width=abc": (400, "width must be an integer"),
        f"{base}/0/cameras/front/frames/0.jpg?width=100000": (400, "width must be between"),
        f"{base}/0/cameras/front/frames/0.jpg?quality=0": (400, "quality must be between"),
    }
    for url, (status, reason) in cases.items():
        response = await client.get(url)
        assert response.status_code == status, url
        assert reason in response.text, (url, response.text)


async def test_frame_url_checks_arguments(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    body = await gql(client, URL, frame=60, camera="front")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "frame"}
    body = await gql(client, URL, frame=0, camera="nope")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "camera"}
