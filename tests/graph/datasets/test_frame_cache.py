"""Frames served from the frame cache (persistence/frame_cache.py) through the media route, on SQLite
and PostgreSQL: a repeated frame is neither read nor encoded again; the cache stays within its bytes;
a changed and re-indexed file is a new ETag with new bytes; the disk folder outlives a restart."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from domain.core.runtime import Runtime
from graph.app import create_app
from persistence.settings import load_settings
from tests.conftest import gql, http_client, make_user, register
from tests.factories import frame_pixels, write_episode

URL = """query($frame: Int!) { datasets { edges { node {
  episode(index: 1) { frameUrl(frame: $frame, camera: "front") } } } } }"""


async def _url(client, frame: int) -> str:
    body = await gql(client, URL, frame=frame)
    assert "errors" not in body, body
    return body["data"]["datasets"]["edges"][0]["node"]["episode"]["frameUrl"]


def _count_reads(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list:
    reads: list = []
    original = runtime.files.read_frame

    def counting(ref, camera, frame):
        reads.append(frame)
        return original(ref, camera, frame)

    monkeypatch.setattr(runtime.files, "read_frame", counting)
    return reads


def _pixels(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body))).astype(int)


async def test_a_repeated_frame_is_read_once_and_served_the_same(client, runtime, tiny_dataset, monkeypatch):
    await register(runtime, tiny_dataset)
    reads = _count_reads(runtime, monkeypatch)
    url = await _url(client, 3)
    first = await client.get(url)
    again = await client.get(url)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert reads == [3]
    # A conditional request is still a 304 without a body.
    not_modified = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert runtime.frame_cache.get(first.headers["etag"]) == first.content


async def test_the_cache_stays_within_its_bytes(database_url, tmp_path, data_root, tiny_dataset, monkeypatch):
    settings = load_settings(
        var_dir=tmp_path, database_url=database_url, data_roots=[data_root], frame_cache_bytes=2_500
    )
    runtime = Runtime.build(settings)
    await runtime.start()
    try:
        await register(runtime, tiny_dataset)
        token = await make_user(runtime, "admin", "ADMIN")
        async with http_client(create_app(runtime=runtime), token) as client:
            sizes = []
            for frame in range(6):
                response = await client.get(await _url(client, frame))
                assert response.status_code == 200
                sizes.append(len(response.content))
                assert runtime.frame_cache.memory_bytes <= 2_500
            assert len(runtime.frame_cache) < 6  # some were evicted
            reads = _count_reads(runtime, monkeypatch)
            assert (await client.get(await _url(client, 5))).status_code == 200  # the newest: kept
            assert (await client.get(await _url(client, 0))).status_code == 200  # the oldest: evicted
            assert reads == [0], sizes
    finally:
        await runtime.stop()


async def test_a_changed_file_is_a_new_etag_with_new_bytes(client, runtime, tiny_dataset, monkeypatch):
    await register(runtime, tiny_dataset)
    url = await _url(client, 4)
    before = await client.get(url)
    assert np.abs(_pixels(before.content) - frame_pixels(1, 4, 48, 64)).mean() < 3

    # Episode 1 rewritten with the pixels of "episode 5" (another green), then re-indexed.
    path = tiny_dataset / "episodes" / "episode_000001.hdf5"
    write_episode(path.with_name("new.hdf5"), 5, 50)
    path.with_name("new.hdf5").replace(path)
    await register(runtime, tiny_dataset)

    new_url = await _url(client, 4)
    assert new_url != url
    after = await client.get(new_url)
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content
    assert np.abs(_pixels(after.content) - frame_pixels(5, 4, 48, 64)).mean() < 3
    # The old ETag is no longer a 304: the client gets the new picture.
    revalidated = await client.get(new_url, headers={"If-None-Match": before.headers["etag"]})
    assert revalidated.status_code == 200 and revalidated.content == after.content


async def test_the_disk_cache_survives_a_restart(
    database_url, tmp_path, data_root, tiny_dataset, monkeypatch
):
    settings = load_settings(
        var_dir=tmp_path,
        database_url=database_url,
        data_roots=[data_root],
        frame_cache_dir=tmp_path / "frame-cache",
    )
    first = Runtime.build(settings)
    await first.start()
    try:
        await register(first, tiny_dataset)
        token = await make_user(first, "admin", "ADMIN")
        async with http_client(create_app(runtime=first), token) as client:
            url = await _url(client, 9)
            served = await client.get(url)
            assert served.status_code == 200
    finally:
        await first.stop()
    assert len(list((tmp_path / "frame-cache").glob("*.jpg"))) == 1

    second = Runtime.build(settings)
    await second.start()
    try:
        reads = _count_reads(second, monkeypatch)
        async with http_client(create_app(runtime=second), token) as client:
            again = await client.get(url)
        assert again.status_code == 200
        assert again.content == served.content and again.headers["etag"] == served.headers["etag"]
        assert reads == []  # from the folder, not the episode file
    finally:
        await second.stop()


async def test_a_cached_frame_answers_as_the_route_does(client, runtime, tiny_dataset, monkeypatch):
    """The cached way (graph/media.py CachedFrames) gives the route's status, body and headers, and
    keeps its refusals: a bad token, no token, a Host not allowed."""
    await register(runtime, tiny_dataset)
    url = await _url(client, 6)
    first = await client.get(url, headers={"X-Request-ID": "first"})  # the route: a miss, rendered
    reads = _count_reads(runtime, monkeypatch)
    cached = await client.get(url, headers={"X-Request-ID": "second"})
    assert reads == []
    assert cached.status_code == first.status_code == 200 and cached.content == first.content
    for name in ("etag", "cache-control", "content-type", "content-length"):
        assert cached.headers[name] == first.headers[name], name
    assert cached.headers["x-request-id"] == "second"
    assert len((await client.get(url)).headers["x-request-id"]) == 32  # made when not given
    not_modified = await client.get(url, headers={"If-None-Match": f'"x", {first.headers["etag"]}'})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"] and "content-type" not in not_modified.headers

    bad = await client.get(url, headers={"Authorization": "Bearer ag_not-a-token"})
    assert bad.status_code == 401 and bad.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await client.get(url, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert (await client.get(url, headers={"Host": "evil.example"})).status_code == 400
    bad_width = await client.get(url + "&width=abc")
    assert bad_width.status_code == 400 and "width must be an integer" in bad_width.text
    assert (await client.get(url.replace("/frames/6.jpg", "/frames/99.jpg"))).status_code == 404


async def test_a_revoked_token_gets_no_cached_frame(client, runtime, tiny_dataset):
    from sqlalchemy import select

    from domain.accounts import tokens
    from persistence.tables import ApiTokenRow

    await register(runtime, tiny_dataset)
    secret = await make_user(runtime, "annotator", "ANNOTATOR")
    async with http_client(client._transport.app, secret) as annotator:
        url = await _url(annotator, 2)
        assert (await annotator.get(url)).status_code == 200
        assert (await annotator.get(url)).status_code == 200  # from the cache
        async with runtime.sessions() as session:
            statement = select(ApiTokenRow.id).where(ApiTokenRow.token_hash == tokens.hash_secret(secret))
            token_id = (await session.execute(statement)).scalar_one()
        viewer = await tokens.authenticate(runtime, secret, kinds=[tokens.TokenKind.API])
        await tokens.revoke_token(runtime, token_id, viewer)
        refused = await annotator.get(url)
        assert refused.status_code == 401 and "revoked" in refused.text
