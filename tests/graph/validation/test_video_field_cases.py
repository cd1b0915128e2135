"""Issue 15, "the frame shown must be the frame annotated", through the graph: each field-case video
(tests/field_cases/video) and a generated video of each kind uploaded with `uploadVideo`; every served
frame is the picture that decoding in order shows (PyAV), turned as ffmpeg shows it; the reported size
is the displayed one; episode time counts from the first frame; exports carry the same pictures."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from tests.conftest import gql
from tests.persistence.video_cases import (
    FIELD_CASES,
    HEIGHT,
    WIDTH,
    cut_leading,
    index_of,
    red_corner,
    reference,
    upright,
    write_video,
)

UPLOAD = """mutation($file: Upload!) { uploadVideo(file: $file, name: "field case") {
  id length duration cameraStreams { name frameCount width height } dataset { id fps }
  trajectory { timestamps } frameUrl(frame: 0, camera: "video") } }"""


async def upload(client, path: Path) -> dict:
    operations = {"query": UPLOAD, "variables": {"file": None}}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (path.name, path.read_bytes(), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["uploadVideo"]


async def served(client, episode: dict, frame: int) -> np.ndarray:
    url = episode["frameUrl"].replace("/frames/0.jpg", f"/frames/{frame}.jpg")
    response = await client.get(url)
    assert response.status_code == 200, (frame, response.text)
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


async def check_upload(
    client,
    runtime,
    path: Path,
    *,
    size: tuple[int, int],
    fps: float,
    turns: int = 0,
    corner: str = "bottom-left",
) -> dict:
    """Upload `path`, then check the reported length, size and times, and every served frame."""
    ref = reference(path)
    indexes = [index_of(img) for img in ref.stored]
    episode = await upload(client, path)
    n = len(ref.stored)
    assert episode["length"] == n and episode["dataset"]["fps"] == pytest.approx(fps)
    assert episode["cameraStreams"] == [
        {"name": "video", "frameCount": n, "width": size[0], "height": size[1]}
    ]
    assert episode["duration"] == pytest.approx(n / fps, abs=1e-6)
    np.testing.assert_allclose(episode["trajectory"]["timestamps"], np.arange(n) / fps, atol=1e-6)
    for i in range(n):
        img = await served(client, episode, i)
        assert img.shape == ref.shown[i].shape, (path.name, i)
        assert np.abs(img.astype(int) - ref.shown[i].astype(int)).mean() < 8, (path.name, i)  # JPEG
        assert index_of(upright(img, turns)) == indexes[i], (path.name, i)
        assert red_corner(img) == corner, (path.name, i)
    folder = next((runtime.settings.var_dir / "videos").iterdir())
    names = sorted(p.name for p in folder.iterdir())  # the video, and the index decoding it found
    assert names == sorted([f"video{path.suffix}", f"video{path.suffix}.frames.npz"])
    return episode


@pytest.mark.parametrize(
    ("name", "frames", "first", "size", "turns", "corner"),
    [
        ("h264_bframes.avi", 30, 0, (WIDTH, HEIGHT), 0, "bottom-left"),
        ("rotated_90.mp4", 10, 0, (HEIGHT, WIDTH), 1, "bottom-right"),  # portrait 48 x 64, as ffmpeg shows it
        ("no_leading_keyframe.mkv", 22, 18, (WIDTH, HEIGHT), 0, "bottom-left"),  # 5 undecodable packets
        ("start_offset_0.5s.mkv", 10, 0, (WIDTH, HEIGHT), 0, "bottom-left"),
        ("start_offset_0.5s.mp4", 10, 0, (WIDTH, HEIGHT), 0, "bottom-left"),
    ],
)
async def test_a_field_case_serves_every_frame_as_decoding_in_order_shows_it(
    client, runtime, name, frames, first, size, turns, corner
):
    path = FIELD_CASES / name
    assert [index_of(img) for img in reference(path).stored] == list(range(first, first + frames))
    await check_upload(client, runtime, path, size=size, fps=10.0, turns=turns, corner=corner)


@pytest.mark.parametrize("kind", ["bframes.avi", "rotated_270.mp4", "cut.mkv", "offset.mp4"])
async def test_another_video_of_each_kind(client, runtime, tmp_path, kind):
    if kind == "bframes.avi":  # another length, GOP and rate
        path = write_video(tmp_path / kind, 23, gop=7, fps=25)
        await check_upload(client, runtime, path, size=(WIDTH, HEIGHT), fps=25.0)
    elif kind == "rotated_270.mp4":  # a quarter turn clockwise
        path = write_video(tmp_path / kind, 9, rotation=270)
        await check_upload(client, runtime, path, size=(HEIGHT, WIDTH), fps=10.0, turns=3, corner="top-left")
    elif kind == "cut.mkv":  # cut 4 packets into a recording
        path = cut_leading(write_video(tmp_path / "whole.mp4", 30, gop=9), tmp_path / kind, 4)
        episode = await check_upload(client, runtime, path, size=(WIDTH, HEIGHT), fps=10.0)
        assert episode["length"] < 26
    else:  # times from 1.72 s at 25 fps
        path = write_video(tmp_path / kind, 12, fps=25, first=43)
        await check_upload(client, runtime, path, size=(WIDTH, HEIGHT), fps=25.0)


async def test_what_cannot_be_shown_right_is_refused_naming_why(client, runtime, tmp_path):
    from tests.persistence.video_cases import write_resized

    for path, words in [
        (write_video(tmp_path / "tilted.mp4", 4, rotation=45), "only quarter turns"),
        (write_resized(tmp_path / "joined.avi"), "the picture changes at frame 6"),
    ]:
        operations = {"query": UPLOAD, "variables": {"file": None}}
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": (path.name, path.read_bytes(), "application/octet-stream")},
        )
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}, error
        assert error["message"].startswith(f"file: {path.name!r}: ") and words in error["message"], error
        assert str(runtime.settings.var_dir) not in error["message"]
    assert (await gql(client, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 0
    folder = runtime.settings.var_dir / "videos"
    assert not folder.exists() or list(folder.iterdir()) == []


BOXES = (
    """mutation($input: [CreateObjectAnnotationInput!]!) { createObjectAnnotations(input: $input) { id } }"""
)


async def test_a_box_is_checked_against_the_displayed_picture(client, runtime):
    episode = await upload(client, FIELD_CASES / "rotated_90.mp4")
    await gql(
        client,
        'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "person"}) { id } }',
        d=episode["dataset"]["id"],
    )

    def box(x, y, width, height):
        return [
            {
                "episodeId": episode["id"],
                "camera": "video",
                "frame": 2,
                "label": "person",
                "box": {"x": x, "y": y, "width": width, "height": height},
            }
        ]

    tall = await gql(client, BOXES, input=box(0, 40, 48, 24))  # fits 48 x 64, not the stored 64 x 48
    assert "errors" not in tall, tall
    wide = await gql(client, BOXES, input=box(10, 5, 45, 10))  # 55 > 48 px: outside the displayed picture
    assert wide["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", wide


@pytest.mark.parametrize(
    ("name", "device_time", "frame"),
    [
        ("start_offset_0.5s.mkv", 0.3, 3),  # 10 fps: 0.3 s after the first frame is frame 3
        ("start_offset_0.5s.mp4", 0.3, 3),
        ("offset_1.72s.mp4", 0.12, 3),  # 25 fps, generated
    ],
)
async def test_a_device_time_counts_from_the_first_frame(client, runtime, tmp_path, name, device_time, frame):
    from tests.graph.validation_session_setup import CREATE, INGEST, START, STOP, event
    from tests.graph.validation_setup import LINK, PROJECT

    path = (
        FIELD_CASES / name if name.startswith("start") else write_video(tmp_path / name, 12, fps=25, first=43)
    )
    episode = (await upload(client, path))["id"]
    project = (await gql(client, PROJECT, input={"name": "p", "labels": ["cube"]}))["data"]["createProject"][
        "id"
    ]
    await gql(client, LINK, p=project, e=[episode], r="field case")
    session = (
        await gql(
            client,
            CREATE,
            input={"projectId": project, "name": "device", "source": "EXTERNAL", "episodeIds": [episode]},
        )
    )["data"]["createTestSession"]
    await gql(client, START, id=session["id"])
    sent = await gql(
        client,
        INGEST,
        s=session["id"],
        e=[dict(event(episode, None, "cube", timestamp=device_time), camera="video")],
    )
    assert sent == {"data": {"ingestDetectionEvents": 1}}, sent
    await gql(client, STOP, id=session["id"])
    found = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on TestSession {
      comparisons { edges { node { frame temporalOffsetMs } } } } } }""",
        id=session["id"],
    )
    (node,) = [e["node"] for e in found["data"]["node"]["comparisons"]["edges"]]
    assert node["frame"] == frame and abs(node["temporalOffsetMs"]) < 1, node


async def test_a_recording_cut_before_its_keyframe_exports(client, runtime):
    """Every export of no_leading_keyframe.mkv failed: both kinds carry its decodable pictures."""
    from tests.graph.edits.test_episode_edits import EXPORT
    from tests.graph.edits.test_episode_edits import finished as exported
    from tests.graph.objects.test_annotation_transfer import export

    path = FIELD_CASES / "no_leading_keyframe.mkv"
    ref = reference(path)
    episode = await upload(client, path)
    dataset = episode["dataset"]["id"]
    await gql(
        client, 'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "person"}) { id } }', d=dataset
    )
    boxes = [
        {
            "episodeId": episode["id"],
            "camera": "video",
            "frame": f,
            "label": "person",
            "box": {"x": 2, "y": 3, "width": 10, "height": 12},
        }
        for f in (0, 21)
    ]
    assert "errors" not in await gql(client, BOXES, input=boxes)

    _, archive = await export(client, runtime, datasetId=dataset, format="COCO", includeImages=True)
    images = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
    shown = [index_of(np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB"))) for n in images]
    assert shown == [18, 39]

    started = await gql(
        client, EXPORT, input={"datasetId": dataset, "name": "cut", "episodes": [{"index": 0}]}
    )
    assert "errors" not in started, started
    job = await exported(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    with h5py.File(io.BytesIO(archive.read("cut/episodes/episode_000000.hdf5"))) as got:
        np.testing.assert_allclose(got["timestamp"][:], np.arange(22) / 10.0, atol=1e-6)
        images = got["observation.images.video"][:]
    assert images.shape == (22, HEIGHT, WIDTH, 3)
    for i in range(22):
        np.testing.assert_array_equal(images[i], ref.shown[i])
