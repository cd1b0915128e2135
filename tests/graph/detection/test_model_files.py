"""The models folder through the graph: `models` lists the files with their classes, admins upload
(multipart, .pt/.yaml, within the upload limit) and delete them. Offline: the checkpoint is built
from an architecture Ultralytics ships (tests/graph/model_setup.py)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import gql, http_client, make_user

UPLOAD = """mutation($file: Upload!, $name: String) { uploadModel(file: $file, name: $name) {
  name architecture task classNames sizeBytes addedAt problem } }"""
MODELS = "{ models { name architecture task classNames sizeBytes addedAt problem } }"
DELETE = "mutation($name: String!) { deleteModel(name: $name) }"


async def upload(client, file_name: str, content: bytes, name: str | None = None) -> dict:
    operations = {"query": UPLOAD, "variables": {"file": None, "name": name}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (file_name, content, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def checkpoint(confident_checkpoint) -> bytes:
    return confident_checkpoint.read_bytes()


async def test_an_uploaded_checkpoint_is_listed_with_its_classes_and_deleted(client, runtime, checkpoint):
    assert (await gql(client, MODELS))["data"]["models"] == []
    body = await upload(client, "whatever.bin", checkpoint, name="robot.pt")
    assert "errors" not in body, body
    added = body["data"]["uploadModel"]
    assert added["name"] == "robot.pt" and added["architecture"] == "yolo11n.yaml"
    assert added["task"] == "detect" and added["problem"] is None
    assert added["classNames"][:3] == ["person", "car", "class2"] and len(added["classNames"]) == 80
    assert added["sizeBytes"] == len(checkpoint) and added["addedAt"]
    assert (runtime.settings.models_dir / "robot.pt").read_bytes() == checkpoint
    listed = (await gql(client, MODELS))["data"]["models"]
    assert listed == [added]
    again = await upload(client, "robot.pt", checkpoint)  # its own file name this time: taken
    assert again["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "file"}
    assert (await gql(client, DELETE, name="robot.pt"))["data"]["deleteModel"] is True
    assert (await gql(client, MODELS))["data"]["models"] == []
    assert not (runtime.settings.models_dir / "robot.pt").exists()
    assert (await gql(client, DELETE, name="robot.pt"))["data"]["deleteModel"] is False
    assert (await gql(client, DELETE, name="yolo11n.yaml"))["data"]["deleteModel"] is False  # shipped


async def test_an_architecture_yaml_is_an_untrained_model_with_its_classes(client):
    import ultralytics

    shipped = os.path.join(os.path.dirname(ultralytics.__file__), "cfg", "models", "11", "yolo11.yaml")
    with open(shipped) as handle:
        text = handle.read().replace("nc: 80", "nc: 2")
    body = await upload(client, "arm.yaml", text.encode())
    assert "errors" not in body, body
    added = body["data"]["uploadModel"]
    assert added["name"] == "arm.yaml" and added["architecture"] == "arm.yaml" and added["task"] == "detect"
    assert len(added["classNames"]) == 2


async def test_refusals_leave_the_folder_as_it_was(client, app, runtime, checkpoint, monkeypatch):
    folder = runtime.settings.models_dir
    other = await upload(client, "weights.onnx", checkpoint)
    assert other["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    assert ".pt" in other["errors"][0]["message"]
    sneaky = await upload(client, "x.bin", checkpoint, name="../escape.pt")
    assert sneaky["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    junk = await upload(client, "junk.pt", b"not a pickle at all")
    assert junk["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", junk
    assert "junk.pt" in junk["errors"][0]["message"]
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", len(checkpoint) - 1)
    large = await upload(client, "big.pt", checkpoint)
    assert large["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert large["errors"][0]["extensions"]["limit"] == "uploadBytes"
    monkeypatch.undo()
    async with http_client(app, await make_user(runtime, "rita", "REVIEWER")) as rita:
        refused = await upload(rita, "robot.pt", checkpoint)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        gone = await gql(rita, DELETE, name="robot.pt")
        assert gone["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await gql(rita, MODELS))["data"]["models"] == []  # reviewers may look
    async with http_client(app, await make_user(runtime, "vic", "VIEWER")) as vic:
        hidden = await gql(vic, MODELS)
        assert hidden["data"]["models"] is None and hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not folder.exists() or sorted(p.name for p in folder.iterdir()) == []
