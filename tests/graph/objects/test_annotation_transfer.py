"""exportAnnotations / importAnnotations through the graph: jobs, downloads, uploads, round trips."""

from __future__ import annotations

import io
import json
import math
import zipfile

import pytest

from tests.conftest import gql, http_client, make_user, register
from tests.graph.objects_setup import CREATE, box, labelled_dataset

EXPORT = """mutation($input: ExportAnnotationsInput!) { exportAnnotations(input: $input) { id status } }"""
JOB = "query($id: ID!) { node(id: $id) { ... on Job { status artifactUrl summary errorMessage } } }"
IMPORT = """mutation($input: ImportAnnotationsInput!) { importAnnotations(input: $input) {
  format images boxes tracks episodes episodeAnnotations labelsCreated } }"""
BOXES = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes(first: 10) { edges { node { index
  objects(first: 100) { edges { node { id camera frame trackId occluded truncated difficult outside notes source
    score keyframe review rejectReason reviewedBy { name } label { name } box { x y width height } } } } } } } } } }"""
SAVE = (
    """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) { version } }"""
)
ANNOTATIONS = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes { edges { node { index
  annotations { version notes annotator { name } taskCompleteness { rating } anomalies { type fromFrame toTime } } } } } } } }"""


@pytest.fixture
async def filled(client, runtime, tiny_dataset):
    """A dataset with boxes of every kind: tracks, flags, model scores, reviews, fractions, borders."""
    await register(runtime, tiny_dataset)
    dataset_id, episodes = await labelled_dataset(client)
    made = await gql(
        client,
        CREATE,
        input=[
            box(episodes[0], 0, trackId="walker", occluded=True, notes="behind the pole"),
            box(episodes[0], 1, x=10.5, y=5.25, w=20.5, h=30.75, trackId="walker", truncated=True),
            box(episodes[0], 1, x=0, y=0, w=64, h=48, label="cyclist", difficult=True),  # the whole frame
            box(
                episodes[1],
                3,
                x=40,
                y=20,
                w=24,
                h=28,
                label="cyclist",
                source="MODEL",
                score=0.75,
                keyframe=False,
            ),
            box(episodes[2], 7, trackId="leaver", outside=True),
        ],
    )
    ids = [m["id"] for m in made["data"]["createObjectAnnotations"]]
    await gql(
        client,
        "mutation($ids: [ID!]!) { validateObjectAnnotations(ids: $ids, validated: true) { id } }",
        ids=ids[:3],
    )
    await gql(
        client,
        'mutation($ids: [ID!]!) { validateObjectAnnotations(ids: $ids, validated: false, reason: "blurry") { id } }',
        ids=ids[3:4],
    )
    saved = await gql(
        client,
        SAVE,
        input={
            "episodeId": episodes[0],
            "notes": "ok",
            "taskCompleteness": {"rating": "SUCCESS"},
            "anomalies": [{"type": "JITTER", "severity": "LOW", "fromFrame": 3, "toFrame": 9}],
        },
    )
    assert "errors" not in saved, saved
    return dataset_id, episodes


async def export(client, runtime, **input) -> tuple[dict, zipfile.ZipFile]:
    job = (await gql(client, EXPORT, input=input))["data"]["exportAnnotations"]
    await runtime.jobs.wait(int(__import__("base64").b64decode(job["id"]).decode().split(":")[1]))
    node = (await gql(client, JOB, id=job["id"]))["data"]["node"]
    assert node["status"] == "COMPLETED", node
    response = await client.get(node["artifactUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    return node, zipfile.ZipFile(io.BytesIO(response.content))


async def upload(client, dataset_id: str, name: str, content: bytes, **extra) -> dict:
    operations = {"query": IMPORT, "variables": {"input": {"datasetId": dataset_id, "file": None, **extra}}}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (name, content, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return response.json()


def zipped(archive: zipfile.ZipFile) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for item in archive.infolist():
            copy.writestr(item, archive.read(item))
    return out.getvalue()


async def all_boxes(client, dataset_id: str) -> list[dict]:
    body = await gql(client, BOXES, id=dataset_id)
    found = []
    for edge in body["data"]["node"]["episodes"]["edges"]:
        for b in edge["node"]["objects"]["edges"]:
            found.append(
                {"episode": edge["node"]["index"], **{k: v for k, v in b["node"].items() if k != "id"}}
            )
    return sorted(found, key=lambda b: (b["episode"], b["camera"], b["frame"], b["box"]["x"]))


async def clear(client, dataset_id: str) -> None:
    ids = []
    for edge in (await gql(client, BOXES, id=dataset_id))["data"]["node"]["episodes"]["edges"]:
        ids += [b["node"]["id"] for b in edge["node"]["objects"]["edges"]]
    assert (await gql(client, "mutation($ids: [ID!]!) { deleteObjectAnnotations(ids: $ids) }", ids=ids))[
        "data"
    ]


def geometry(boxes: list[dict]) -> list[tuple]:
    return [(b["episode"], b["camera"], b["frame"], b["label"]["name"], b["box"]) for b in boxes]


async def test_annograph_json_round_trips_everything(client, runtime, filled):
    dataset_id, episodes = filled
    before = await all_boxes(client, dataset_id)
    annotations_before = (await gql(client, ANNOTATIONS, id=dataset_id))["data"]
    node, archive = await export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    assert node["summary"]["boxes"] == 5 and node["summary"]["fidelity"]["lost"] == []
    await clear(client, dataset_id)
    await gql(client, "mutation($e: ID!) { deleteEpisodeAnnotation(episodeId: $e) }", e=episodes[0])
    result = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert result["data"]["importAnnotations"]["boxes"] == 5, result
    assert result["data"]["importAnnotations"]["episodeAnnotations"] == 1
    assert await all_boxes(client, dataset_id) == before
    assert (await gql(client, ANNOTATIONS, id=dataset_id))["data"] == annotations_before


@pytest.mark.parametrize("fmt", ["COCO", "YOLO", "VOC"])
async def test_each_format_returns_the_same_boxes(client, runtime, filled, fmt):
    dataset_id, _ = filled
    stored = await all_boxes(client, dataset_id)
    before = [b for b in stored if not b["outside"]]  # out of view: not an object to train on
    node, archive = await export(client, runtime, datasetId=dataset_id, format=fmt)
    assert node["summary"]["fidelity"]["format"] == fmt and node["summary"]["boxes"] == len(before) == 4
    assert "1 outside keyframe(s) (the track left the view): left out" in node["summary"]["fidelity"]["lost"]
    await clear(client, dataset_id)
    result = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert "errors" not in result, result
    after = await all_boxes(client, dataset_id)
    assert len(after) == len(before)
    for old, new in zip(geometry(before), geometry(after), strict=True):
        assert old[:4] == new[:4]
        assert all(abs(old[4][k] - new[4][k]) <= 1.0 for k in ("x", "y", "width", "height")), (old, new)
    if fmt == "COCO":  # COCO carries tracks, flags and sources in `attributes`
        keys = ("trackId", "occluded", "truncated", "difficult", "source", "score")
        assert [{k: b[k] for k in keys} for b in after] == [{k: b[k] for k in keys} for b in before]
        assert geometry(after) == geometry(before)
    else:
        assert {b["source"] for b in after} == {"IMPORTED"}
    if fmt == "VOC":  # CVAT's way: track ids and keyframe flags under <attributes>, VOC's own flags
        keys = ("trackId", "keyframe", "occluded", "truncated", "difficult")
        assert [{k: b[k] for k in keys} for b in after] == [{k: b[k] for k in keys} for b in before]
    if fmt == "YOLO":
        assert all(b["trackId"].startswith("DET_") for b in after)


async def test_exports_are_read_by_the_tools_that_use_them(client, runtime, filled, tmp_path, monkeypatch):
    """pycocotools scores the COCO export against itself, Ultralytics checks the YOLO export with its
    images, and the VOC XML holds the stored boxes in the corners CVAT and datumaro read (xmin = x,
    xmax = x + width), whole pixels, never without width."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset_id, _ = filled
    stored = [b for b in await all_boxes(client, dataset_id) if not b["outside"]]
    _, archive = await export(client, runtime, datasetId=dataset_id, format="COCO")
    archive.extractall(tmp_path / "coco")
    truth = COCO(str(tmp_path / "coco" / "annotations" / "instances_default.json"))  # no splits: default
    detections = [
        dict(image_id=a["image_id"], category_id=a["category_id"], bbox=a["bbox"], score=1.0)
        for a in truth.dataset["annotations"]
    ]
    evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
    evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    assert len(detections) == len(stored) and abs(evaluation.stats[0] - 1.0) < 1e-9

    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo_config"))
    from ultralytics.data.utils import check_det_dataset, verify_image_label

    _, archive = await export(client, runtime, datasetId=dataset_id, format="YOLO", includeImages=True)
    archive.extractall(tmp_path / "yolo")
    spec = check_det_dataset(str(tmp_path / "yolo" / "data.yaml"), autodownload=False)
    assert spec["names"] == {0: "pedestrian", 1: "vehicle", 2: "cyclist"}
    read = 0
    for image in sorted((tmp_path / "yolo" / "images").iterdir()):
        label_file = tmp_path / "yolo" / "labels" / f"{image.stem}.txt"
        result = verify_image_label((str(image), str(label_file), "", False, 3, 0, 0, False))
        missing, found, _, corrupt = result[5:9]
        assert (missing, found, corrupt) == (0, 1, 0), result[-1]
        read += len(result[1])
    assert read == len(stored)

    import xml.etree.ElementTree as ET

    _, archive = await export(client, runtime, datasetId=dataset_id, format="VOC")
    found = []
    for name in archive.namelist():
        if name.endswith(".xml"):
            root = ET.fromstring(archive.read(name))
            episode, frame = int(name.split("_")[1]), int(name.split("_")[3][:-4])
            for thing in root.findall("object"):
                corners = [int(thing.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
                found.append((episode, frame, thing.findtext("name"), corners))

    def pixel(v: float) -> int:  # half a pixel rounds up, as the README states
        return math.floor(v + 0.5)

    want = [
        (
            b["episode"],
            b["frame"],
            b["label"]["name"],
            [
                pixel(b["box"]["x"]),
                pixel(b["box"]["y"]),
                pixel(b["box"]["x"] + b["box"]["width"]),
                pixel(b["box"]["y"] + b["box"]["height"]),
            ],
        )
        for b in stored
    ]
    assert sorted(found) == sorted(want)
    assert all(c[0] < c[2] and c[1] < c[3] for *_, c in found)


async def test_export_filters_and_images(client, runtime, filled):
    dataset_id, episodes = filled
    node, archive = await export(
        client, runtime, episodeIds=episodes[:2], format="YOLO", onlyValidated=True, includeImages=True
    )
    assert node["summary"]["boxes"] == 3 and node["summary"]["images"] == 2
    names = archive.namelist()
    assert "data.yaml" in names and "images/episode_000000_front_000001.jpg" in names
    assert archive.read("images/episode_000000_front_000001.jpg")[:2] == b"\xff\xd8"
    bad = await gql(client, EXPORT, input={"datasetId": dataset_id, "format": "COCO", "cameras": ["rear"]})
    assert bad["errors"][0]["extensions"]["field"] == "input.cameras"
    both = await gql(
        client, EXPORT, input={"datasetId": dataset_id, "episodeIds": episodes[:1], "format": "COCO"}
    )
    assert both["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_wrong_selection_names_its_field_and_starts_no_job(client, runtime, filled):
    dataset_id, episodes = filled
    cases = [
        ({"datasetId": dataset_id, "episodeIds": episodes[:1]}, "input.datasetId"),
        ({}, "input.datasetId"),
        ({"episodeIds": []}, "input.episodeIds"),
        ({"datasetId": dataset_id, "cameras": ["front", "rear"]}, "input.cameras"),
    ]
    for given, field in cases:
        body = await gql(client, EXPORT, input={"format": "COCO", **given})
        (error,) = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field), body
        assert error["message"].startswith(f"{field}:"), error["message"]
    jobs = await gql(client, "{ jobs(first: 10) { edges { node { kind } } } }")
    assert [e["node"]["kind"] for e in jobs["data"]["jobs"]["edges"]].count("EXPORT") == 0


async def test_downloads_need_a_signed_in_caller(app, client, runtime, filled):
    dataset_id, _ = filled
    node, _ = await export(client, runtime, datasetId=dataset_id, format="COCO")
    async with http_client(app) as anonymous:
        assert (await anonymous.get(node["artifactUrl"])).status_code == 401
    async with http_client(app, await make_user(runtime, "vic", "VIEWER")) as viewer:
        assert (await viewer.get(node["artifactUrl"])).status_code == 200
        assert (await viewer.get(node["artifactUrl"].replace(".zip", "x.zip"))).status_code == 404


async def test_a_bad_line_fails_the_whole_import(client, runtime, filled):
    dataset_id, _ = filled
    _, archive = await export(client, runtime, datasetId=dataset_id, format="YOLO")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for item in archive.infolist():
            content = archive.read(item)
            if item.filename == "labels/episode_000000_front_000001.txt":
                content += b"0 0.5 0.5 1.7 0.2\n"
            broken.writestr(item, content)
    await clear(client, dataset_id)
    body = await upload(client, dataset_id, "broken.zip", out.getvalue())
    error = body["errors"][0]["extensions"]
    assert error["code"] == "BAD_USER_INPUT" and error["field"] == "input.file"
    assert error["file"].endswith("episode_000000_front_000001.txt") and error["line"] == 3
    assert await all_boxes(client, dataset_id) == []


async def test_unknown_classes_need_create_missing_labels(client, runtime, filled):
    dataset_id, _ = filled
    coco = {
        "images": [{"id": 1, "file_name": "episode_000001_front_000002.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0}
        ],
        "categories": [{"id": 5, "name": "scooter_rider"}],
    }
    content = json.dumps(coco).encode()
    refused = await upload(client, dataset_id, "foreign.json", content)
    assert "scooter_rider" in refused["errors"][0]["message"]
    accepted = await upload(client, dataset_id, "foreign.json", content, createMissingLabels=True)
    assert accepted["data"]["importAnnotations"]["labelsCreated"] == ["scooter_rider"]
    assert accepted["data"]["importAnnotations"]["format"] == "COCO"
    not_a_frame = dict(coco, images=[dict(coco["images"][0], file_name="cat.jpg")])
    named = await upload(client, dataset_id, "foreign.json", json.dumps(not_a_frame).encode())
    assert "cat.jpg" in named["errors"][0]["message"]


async def test_importing_needs_a_reviewer(app, runtime, filled):
    dataset_id, _ = filled
    async with http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as annotator:
        body = await upload(annotator, dataset_id, "x.json", b"{}")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_box_on_a_frame_its_track_already_has_fails_the_import_and_writes_nothing(
    client, runtime, filled
):
    dataset_id, _ = filled
    before = await all_boxes(client, dataset_id)
    _, archive = await export(client, runtime, datasetId=dataset_id, format="COCO")
    again = await upload(client, dataset_id, "again.zip", zipped(archive))  # the same boxes once more
    error = again["errors"][0]
    assert (
        error["extensions"]["code"] == "BAD_USER_INPUT" and "already has a box on frame" in error["message"]
    )
    assert error["extensions"]["file"] == "again.zip"
    assert await all_boxes(client, dataset_id) == before


async def test_an_import_over_the_box_limit_is_refused_and_writes_nothing(
    client, runtime, filled, monkeypatch
):
    dataset_id, _ = filled
    _, archive = await export(client, runtime, datasetId=dataset_id, format="COCO")
    await clear(client, dataset_id)
    monkeypatch.setattr(runtime.settings, "max_import_boxes", 1)  # the export holds more
    body = await upload(client, dataset_id, "export.zip", zipped(archive))
    error = body["errors"][0]
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "importBoxes", "field": "input.file"}
    assert "ANNOGRAPH_MAX_IMPORT_BOXES" in error["message"]
    assert await all_boxes(client, dataset_id) == []


async def test_a_zip_bomb_is_refused_while_the_server_keeps_answering(client, runtime, filled, monkeypatch):
    import asyncio

    dataset_id, _ = filled
    monkeypatch.setattr(runtime.settings, "max_unpacked_bytes", 1_000_000)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations.json", b"\0" * 20_000_000)
    async with asyncio.timeout(120):  # a hang guard, not a speed check
        body, health = await asyncio.gather(
            upload(client, dataset_id, "bomb.zip", out.getvalue()), client.get("/health")
        )
    assert body["errors"][0]["extensions"] == {
        "code": "LIMIT_EXCEEDED",
        "field": "input.file",
        "limit": "unpackedSize",
    }
    assert health.status_code == 200


async def test_cvat_video_xml_round_trips_tracks_keyframes_and_outside(client, runtime, filled):
    """Issue 17: tracked boxes travel as CVAT for video 1.1, one annotations.xml per video; back in, each
    box is where it was with its track id, keyframe flag, outside mark and occlusion."""
    dataset_id, _ = filled
    before = await all_boxes(client, dataset_id)
    node, archive = await export(client, runtime, datasetId=dataset_id, format="CVAT")
    assert node["summary"]["boxes"] == 5  # the outside keyframe travels too
    assert any(
        name.endswith("/annotations.xml") and name.startswith("episode_") for name in archive.namelist()
    )
    await clear(client, dataset_id)
    result = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert result["data"]["importAnnotations"]["boxes"] == 5, result
    keys = ("camera", "frame", "trackId", "keyframe", "outside", "occluded", "box")
    assert [
        {k: b[k] for k in keys} | {"label": b["label"]["name"]} for b in await all_boxes(client, dataset_id)
    ] == [{k: b[k] for k in keys} | {"label": b["label"]["name"]} for b in before]


async def test_mot_round_trips_the_visible_boxes(client, runtime, filled):
    dataset_id, _ = filled
    before = [b for b in await all_boxes(client, dataset_id) if not b["outside"]]
    node, archive = await export(client, runtime, datasetId=dataset_id, format="MOT")
    assert any(name.endswith("gt/gt.txt") for name in archive.namelist())
    assert node["summary"]["fidelity"]["lost"], node["summary"]  # keyframes and named tracks: said
    await clear(client, dataset_id)
    result = await upload(client, dataset_id, "export.zip", zipped(archive))
    assert "errors" not in result, result
    after = [b for b in await all_boxes(client, dataset_id) if not b["outside"]]
    assert geometry(after) == geometry(before)
    assert [b["occluded"] for b in after] == [b["occluded"] for b in before]
