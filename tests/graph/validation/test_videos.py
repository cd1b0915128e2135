"""Uploaded videos as episodes: upload checks, frames by index, boxes, sessions, detection, export."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import av
import h5py
import numpy as np
import pytest
from PIL import Image

from tests.conftest import gql
from tests.graph.detection.test_detection import DETECT, finished
from tests.graph.model_setup import IMGSZ
from tests.graph.objects.test_annotation_transfer import export
from tests.persistence.test_video_files import HEIGHT, WIDTH, identify, write_video

UPLOAD = """mutation($file: Upload!, $name: String!, $p: ID) { uploadVideo(file: $file, name: $name, projectId: $p) {
  id index length duration cameras dataset { id name format episodeCount frameCount }
  frameUrl(frame: 37, camera: "video") trajectory { timestamps } } }"""


async def upload(client, name: str, content: bytes, project: str | None = None) -> dict:
    operations = {"query": UPLOAD, "variables": {"file": None, "name": "lab run", "p": project}}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return response.json()


def mp4(tmp_path, frames: int = 60) -> bytes:
    return write_video(tmp_path / "made.mp4", "libx264", frames).read_bytes()


async def test_a_video_becomes_an_episode_whose_frames_are_read_by_index(client, runtime, tmp_path):
    project = (await gql(client, 'mutation { createProject(input: {name: "v"}) { id } }'))["data"][
        "createProject"
    ]
    body = await upload(client, "whatever.bin", mp4(tmp_path), project["id"])  # the name says nothing
    assert "errors" not in body, body
    episode = body["data"]["uploadVideo"]
    assert episode["length"] == 60 and episode["cameras"] == ["video"] and episode["index"] == 0
    assert abs(episode["duration"] - 2.0) < 0.05
    assert episode["dataset"] | {"id": None} == {
        "id": None,
        "name": "lab run",
        "format": "VIDEO",
        "episodeCount": 1,
        "frameCount": 60,
    }
    assert len(episode["trajectory"]["timestamps"]) == 60  # frame times; no joints
    response = await client.get(episode["frameUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert identify(np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))) == 37
    linked = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Project { episodes { id } } } }", id=project["id"]
    )
    assert linked["data"]["node"]["episodes"] == [{"id": episode["id"]}]

    # Boxes, sessions and exports work on it as on any episode.
    dataset = episode["dataset"]["id"]
    label = await gql(
        client, 'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "person"}) { id } }', d=dataset
    )
    assert "errors" not in label, label
    boxes = await gql(
        client,
        """mutation($e: ID!) { createObjectAnnotations(input: [{episodeId: $e, camera: "video",
      frame: 5, label: "person", box: {x: 2, y: 3, width: 10, height: 12}}]) { id frame } }""",
        e=episode["id"],
    )
    assert boxes["data"]["createObjectAnnotations"][0]["frame"] == 5, boxes
    session = await gql(
        client, "mutation($e: ID!) { startAnnotationSession(episodeId: $e) { status } }", e=episode["id"]
    )
    assert session["data"]["startAnnotationSession"]["status"] == "ACTIVE", session
    _, archive = await export(client, runtime, datasetId=dataset, format="COCO", includeImages=True)
    images = [n for n in archive.namelist() if n.endswith(".jpg")]
    assert len(images) == 1
    assert identify(np.asarray(Image.open(io.BytesIO(archive.read(images[0]))).convert("RGB"))) == 5


async def test_detection_runs_on_a_video_episode(client, runtime, tmp_path, models):
    episode = (await upload(client, "clip.mp4", mp4(tmp_path, 40)))["data"]["uploadVideo"]
    await gql(
        client,
        'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "person"}) { id } }',
        d=episode["dataset"]["id"],
    )
    started = await gql(
        client,
        DETECT,
        input={
            "episodeId": episode["id"],
            "camera": "video",
            "model": "confident.pt",
            "frames": [0, 13, 23],
            "imageSize": IMGSZ,
        },
    )
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["detectObjects"]["id"])
    assert job["status"] == "COMPLETED" and job["summary"]["frames"] == 3 and job["summary"]["boxes"] > 0, job


async def test_what_is_not_a_whole_video_is_refused_and_leaves_nothing(client, runtime, tmp_path):
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    whole = mp4(tmp_path)
    cases = [
        ("holiday.mp4", png.getvalue(), "is not a video"),
        ("notes.mp4", b"just some text, not a film" * 10, "is not a video"),
        ("cut.mp4", whole[: len(whole) * 2 // 3], "truncated"),
    ]
    for name, content, words in cases:
        body = await upload(client, name, content)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "file", (
            body
        )
        assert words in error["message"] or "cannot" in error["message"], error
        assert str(runtime.settings.var_dir) not in error["message"]  # no server path in an error
    datasets = await gql(client, "{ datasets { totalCount } }")
    assert datasets["data"]["datasets"]["totalCount"] == 0
    folder = runtime.settings.var_dir / "videos"
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_a_video_episode_exports_as_an_edited_hdf5_episode(client, runtime, tmp_path):
    from domain.edits import CameraEdit, apply_camera_edit, transform_box
    from tests.graph.edits.test_episode_edits import EXPORT
    from tests.graph.edits.test_episode_edits import finished as exported
    from tests.persistence.test_video_files import sequential_decode

    source = write_video(tmp_path / "made.mp4", "libx264", 60)
    body = await upload(client, "run.mp4", source.read_bytes())
    episode = body["data"]["uploadVideo"]
    dataset = episode["dataset"]["id"]
    await gql(
        client, 'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "person"}) { id } }', d=dataset
    )
    boxes = await gql(
        client,
        """mutation($e: ID!) { createObjectAnnotations(input: [
      {episodeId: $e, camera: "video", frame: 5, label: "person", box: {x: 2, y: 3, width: 10, height: 12}},
      {episodeId: $e, camera: "video", frame: 3, label: "person", box: {x: 2, y: 3, width: 10, height: 12}}])
      { id } }""",
        e=episode["id"],
    )
    assert "errors" not in boxes, boxes
    edits = {
        "removedFrames": [3],
        "trimTo": 39,
        "cameras": [{"camera": "video", "rotate": 90, "brightness": 1.3}],
    }
    camera = CameraEdit(rotate=90, brightness=1.3)
    kept = [f for f in range(40) if f != 3]

    started = await gql(
        client,
        EXPORT,
        input={"datasetId": dataset, "name": "from-video", "episodes": [{"index": 0, "edits": edits}]},
    )
    assert "errors" not in started, started
    job = await exported(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job
    assert job["summary"]["frames"] == len(kept) and job["summary"]["dropped"] == {"on removed frames": 1}
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    decoded = sequential_decode(source)
    with av.open(str(source)) as container:
        times = [f.time for f in container.decode(video=0)]
    with h5py.File(io.BytesIO(archive.read("from-video/episodes/episode_000000.hdf5"))) as got:
        assert sorted(got) == ["annograph.source_frames", "observation.images.video", "timestamp"]
        np.testing.assert_allclose(got["timestamp"][:], [times[f] for f in kept])
        images = got["observation.images.video"]
        assert images.shape == (len(kept), WIDTH, HEIGHT, 3)  # turned a quarter
        for new, old in ((0, 0), (3, 4), (38, 39)):
            np.testing.assert_array_equal(images[new], apply_camera_edit(decoded[old], camera))
    carried = json.loads(archive.read("from-video/annotations.json"))
    (box,) = carried["boxes"]
    moved = transform_box(2, 3, 10, 12, camera, (HEIGHT, WIDTH))
    assert (box["x"], box["y"], box["width"], box["height"]) == tuple(moved)
    assert box["fileName"].endswith("_video_000004.jpg")  # frame 5 is the 5th kept frame

    registered = await gql(
        client,
        EXPORT,
        input={
            "datasetId": dataset,
            "name": "from-video-set",
            "output": "DATASET",
            "episodes": [{"index": 0, "edits": edits}],
        },
    )
    job = await exported(client, runtime, registered["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job
    new = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset { format
      episode(index: 0) { length cameras objects { edges { node { frame camera } } } } } } }""",
        id=base64.b64encode(f"Dataset:{job['summary']['datasetId']}".encode()).decode(),
    )
    node = new["data"]["node"]
    assert node["format"] == "HDF5" and node["episode"]["length"] == len(kept)
    assert node["episode"]["cameras"] == ["video"]
    assert [e["node"] for e in node["episode"]["objects"]["edges"]] == [{"frame": 4, "camera": "video"}]


async def test_frames_over_the_pixel_limit_are_refused(client, runtime, tmp_path, monkeypatch, tiny_dataset):
    from tests.conftest import register

    monkeypatch.setattr(runtime.settings, "max_frame_pixels", 1000)  # the test videos are 64 x 48 (3,072)
    body = await upload(client, "huge.mp4", mp4(tmp_path))
    error = body["errors"][0]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "framePixels", "field": "file"}
    assert "ANNOGRAPH_MAX_FRAME_PIXELS" in error["message"]
    folder = runtime.settings.var_dir / "videos"
    assert not folder.exists() or list(folder.iterdir()) == []
    with pytest.raises(AssertionError, match="framePixels|pixels each"):
        await register(runtime, tiny_dataset)  # episode images: the same limit at registration
