"""Uploaded videos as episodes: upload checks, frames by index, boxes, sessions, detection, export."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from tests.conftest import gql
from tests.graph.model_setup import IMGSZ
from tests.graph.test_annotation_transfer import export
from tests.graph.test_detection import DETECT, finished
from tests.persistence.test_video_files import identify, write_video

UPLOAD = """mutation($file: Upload!, $name: String!, $p: ID) { uploadVideo(file: $file, name: $name, projectId: $p) {
  id index length duration cameras dataset { id name format episodeCount frameCount }
  frameUrl(frame: 37, camera: "video") trajectory { timestamps } } }"""


async def upload(client, name: str, content: bytes, project: str | None = None) -> dict:
    operations = {"query": UPLOAD, "variables": {"file": None, "name": "lab run", "p": project}}
    response = await client.post("/graphql", data={
        "operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]}),
    }, files={"0": (name, content, "application/octet-stream")})
    assert response.status_code == 200, response.text
    return response.json()


def mp4(tmp_path, frames: int = 60) -> bytes:
    return write_video(tmp_path / "made.mp4", "libx264", frames).read_bytes()


async def test_a_video_becomes_an_episode_whose_frames_are_read_by_index(client, runtime, tmp_path):
    project = (await gql(client, "mutation { createProject(input: {name: \"v\"}) { id } }"))["data"]["createProject"]
    body = await upload(client, "whatever.bin", mp4(tmp_path), project["id"])  # the name says nothing
    assert "errors" not in body, body
    episode = body["data"]["uploadVideo"]
    assert episode["length"] == 60 and episode["cameras"] == ["video"] and episode["index"] == 0
    assert abs(episode["duration"] - 2.0) < 0.05
    assert episode["dataset"] | {"id": None} == {"id": None, "name": "lab run", "format": "VIDEO",
                                                 "episodeCount": 1, "frameCount": 60}
    assert len(episode["trajectory"]["timestamps"]) == 60  # frame times; no joints
    response = await client.get(episode["frameUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert identify(np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))) == 37
    linked = await gql(client, "query($id: ID!) { node(id: $id) { ... on Project { episodes { id } } } }",
                       id=project["id"])
    assert linked["data"]["node"]["episodes"] == [{"id": episode["id"]}]

    # Boxes, sessions and exports work on it as on any episode.
    dataset = episode["dataset"]["id"]
    label = await gql(client, "mutation($d: ID!) { createLabel(input: {datasetId: $d, name: \"person\"}) { id } }", d=dataset)
    assert "errors" not in label, label
    boxes = await gql(client, """mutation($e: ID!) { createObjectAnnotations(input: [{episodeId: $e, camera: "video",
      frame: 5, label: "person", box: {x: 2, y: 3, width: 10, height: 12}}]) { id frame } }""", e=episode["id"])
    assert boxes["data"]["createObjectAnnotations"][0]["frame"] == 5, boxes
    session = await gql(client, "mutation($e: ID!) { startAnnotationSession(episodeId: $e) { status } }", e=episode["id"])
    assert session["data"]["startAnnotationSession"]["status"] == "ACTIVE", session
    _, archive = await export(client, runtime, datasetId=dataset, format="COCO", includeImages=True)
    images = [n for n in archive.namelist() if n.endswith(".jpg")]
    assert len(images) == 1
    assert identify(np.asarray(Image.open(io.BytesIO(archive.read(images[0]))).convert("RGB"))) == 5


async def test_detection_runs_on_a_video_episode(client, runtime, tmp_path, models):
    episode = (await upload(client, "clip.mp4", mp4(tmp_path, 40)))["data"]["uploadVideo"]
    await gql(client, "mutation($d: ID!) { createLabel(input: {datasetId: $d, name: \"person\"}) { id } }",
              d=episode["dataset"]["id"])
    started = await gql(client, DETECT, input={"episodeId": episode["id"], "camera": "video", "model": "confident.pt",
                                               "frames": [0, 13, 23], "imageSize": IMGSZ})
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
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "file", body
        assert words in error["message"] or "cannot" in error["message"], error
    datasets = await gql(client, "{ datasets { totalCount } }")
    assert datasets["data"]["datasets"]["totalCount"] == 0
    folder = runtime.settings.var_dir / "videos"
    assert not folder.exists() or list(folder.iterdir()) == []
