"""importAnnotations as users of other tools have their files (issue 17), on both databases: file names
mapped to frames (a chosen episode and camera, camera folders, a mapping file, other tools' decorations),
dryRun, never "0 boxes, success", APPEND / MERGE / REPLACE, the fidelity report, and archives with
their frames read without counting the frames."""

from __future__ import annotations

import io
import json
import os
import zipfile

from tests.conftest import gql
from tests.graph.objects.test_coco_transfer import CASES, case_zip, stored

IMPORT = """mutation($input: ImportAnnotationsInput!) { importAnnotations(input: $input) {
  format images boxes tracks episodes dryRun skipped replaced splits labelsCreated
  unmatched { name reason } dropped { kind count } } }"""
EPISODE = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes(first: 10) { edges { node { id index
  } } } } } }"""


async def send(client, dataset_id: str, name: str, content: bytes, mapping_file=None, **extra) -> dict:
    """A multipart importAnnotations; `mapping_file` (name, bytes) goes in as nameMapping.mappingFile."""
    variables = {"input": {"datasetId": dataset_id, "file": None, **extra}}
    files = {"0": (name, content, "application/octet-stream")}
    paths = {"0": ["variables.input.file"]}
    if mapping_file is not None:
        variables["input"].setdefault("nameMapping", {})["mappingFile"] = None
        files["1"] = (mapping_file[0], mapping_file[1], "text/csv")
        paths["1"] = ["variables.input.nameMapping.mappingFile"]
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps({"query": IMPORT, "variables": variables}), "map": json.dumps(paths)},
        files=files,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def episode_id(client, dataset_id: str, index: int) -> str:
    body = await gql(client, EPISODE, id=dataset_id)
    return next(
        e["node"]["id"] for e in body["data"]["node"]["episodes"]["edges"] if e["node"]["index"] == index
    )


def case_file(case: str, path: str) -> bytes:
    return (CASES / case / path).read_bytes()


def mot_archive() -> bytes:
    """The MOT field case (gt/gt.txt and gt/labels.txt) as a zip, as MOTChallenge ships it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for path in ("gt/gt.txt", "gt/labels.txt"):
            z.writestr(path, case_file("mot", path))
    return archive.getvalue()


def geometry(boxes: list[tuple]) -> list[tuple]:
    """(episode, camera, frame, label, x, y, width, height) of stored boxes."""
    return [b[:8] for b in boxes]


async def test_camera_folders_of_a_chosen_episode(client, field_dataset):
    content = case_file("own_names_camera_folders", "annotations.json")
    refused = await send(client, field_dataset, "annotations.json", content)
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "input.file"
    assert error["extensions"]["unmatched"][0]["name"] == "front/000010.jpg"
    assert await stored(client, field_dataset) == []
    mapping = {"episodeId": await episode_id(client, field_dataset, 1), "cameraFolders": True}
    body = await send(client, field_dataset, "annotations.json", content, nameMapping=mapping)
    result = body["data"]["importAnnotations"]
    assert (result["boxes"], result["images"], result["unmatched"]) == (1, 2, [])
    assert geometry(await stored(client, field_dataset)) == [
        (1, "front", 10, "pedestrian", 1.0, 2.0, 3.0, 4.0)
    ]


async def test_label_studio_prefixes_and_roboflow_renames_map_to_our_names(client, field_dataset):
    body = await send(client, field_dataset, "ls.zip", case_zip("labelstudio_coco_prefixed"))
    assert "errors" not in body, body
    boxes = geometry(await stored(client, field_dataset))
    assert boxes and {b[:3] for b in boxes} == {(1, "front", 10)}
    assert boxes[0][4:] == (10.000000000000002, 20.0, 19.999999999999996, 30.000000000000004)
    body = await send(client, field_dataset, "rf.zip", case_zip("yolo_roboflow_renamed"), mode="REPLACE")
    result = body["data"]["importAnnotations"]
    assert result["splits"] == ["train", "valid"]  # test/ holds a background image only
    places = [(b[0], b[1], b[2], b[13]) for b in await stored(client, field_dataset)]
    assert places == [(1, "front", 10, "train"), (1, "front", 10, "train"), (1, "front", 11, "valid")]


async def test_cvat_video_frames_go_to_the_chosen_episode_and_camera(client, field_dataset):
    content = case_file("cvat_xml", "annotations.xml")
    dry = (await send(client, field_dataset, "annotations.xml", content, dryRun=True))["data"][
        "importAnnotations"
    ]
    assert dry["dryRun"] and dry["boxes"] == 0 and dry["images"] == 0
    assert sorted(u["name"] for u in dry["unmatched"]) == ["frame_000010.jpg", "frame_000011.jpg"]
    assert "choose the episode" in dry["unmatched"][0]["reason"]
    assert await stored(client, field_dataset) == []
    mapping = {"episodeId": await episode_id(client, field_dataset, 2), "camera": "side"}
    dry = (await send(client, field_dataset, "annotations.xml", content, dryRun=True, nameMapping=mapping))[
        "data"
    ]["importAnnotations"]
    assert (dry["boxes"], dry["images"], dry["unmatched"]) == (2, 2, [])
    assert await stored(client, field_dataset) == []  # a dry run writes nothing
    result = (await send(client, field_dataset, "annotations.xml", content, nameMapping=mapping))["data"][
        "importAnnotations"
    ]
    assert (result["format"], result["boxes"], result["tracks"]) == ("CVAT", 2, 1)
    boxes = await stored(client, field_dataset)
    assert geometry(boxes) == [
        (2, "side", 10, "pedestrian", 10.0, 20.0, 20.0, 30.0),
        (2, "side", 11, "pedestrian", 10.0, 20.0, 20.0, 30.0),
    ]
    assert boxes[0][8] == boxes[1][8]  # one track


async def test_mot_frames_are_one_based(client, field_dataset):
    mapping = {"episodeId": await episode_id(client, field_dataset, 0), "camera": "front"}
    body = await send(client, field_dataset, "mot.zip", mot_archive(), nameMapping=mapping)
    assert body["data"]["importAnnotations"]["format"] == "MOT", body
    frames = [b[2] for b in await stored(client, field_dataset) if b[10] is not False]
    assert frames[0] == 10  # MOT's frame 11


async def test_a_mapping_file_places_any_name(client, field_dataset):
    coco = {
        "images": [{"id": 7, "file_name": "DSC_0042.jpg", "width": 320, "height": 240}],
        "categories": [{"id": 1, "name": "cyclist"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [5, 6, 7, 8], "iscrowd": 0}],
    }
    table = b"file_name,episode_index,camera,frame\nDSC_0042.jpg,3,side,4\n"
    body = await send(
        client, field_dataset, "a.json", json.dumps(coco).encode(), mapping_file=("map.csv", table)
    )
    assert body["data"]["importAnnotations"]["boxes"] == 1, body
    assert geometry(await stored(client, field_dataset)) == [(3, "side", 4, "cyclist", 5.0, 6.0, 7.0, 8.0)]
    bad = await send(client, field_dataset, "a.json", b"{}", mapping_file=("map.csv", b"name,frame\n"))
    assert bad["errors"][0]["extensions"]["field"] == "input.nameMapping.mappingFile"
    assert "line 1" in bad["errors"][0]["message"]


async def test_a_file_without_boxes_is_an_error_never_zero_imported(client, field_dataset):
    empty = {
        "images": [{"id": 1, "file_name": "episode_000001_front_000010.jpg", "width": 320, "height": 240}]
    }
    empty |= {"categories": [{"id": 1, "name": "cyclist"}], "annotations": []}
    body = await send(client, field_dataset, "empty.json", json.dumps(empty).encode())
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "no boxes" in error["message"]


async def test_append_merge_and_replace(client, field_dataset):
    content = case_zip("cvat_yolo11")
    first = (await send(client, field_dataset, "y.zip", content))["data"]["importAnnotations"]
    assert first["boxes"] > 0
    again = (await send(client, field_dataset, "y.zip", content))["data"]["importAnnotations"]
    assert again["boxes"] == first["boxes"] and len(await stored(client, field_dataset)) == 2 * first["boxes"]
    merged = (await send(client, field_dataset, "y.zip", content, mode="MERGE"))["data"]["importAnnotations"]
    assert (merged["boxes"], merged["skipped"]) == (0, first["boxes"])  # no box added twice
    replaced = (await send(client, field_dataset, "y.zip", content, mode="REPLACE"))["data"][
        "importAnnotations"
    ]
    assert (replaced["replaced"], replaced["boxes"]) == (2 * first["boxes"], first["boxes"])
    assert len(await stored(client, field_dataset)) == first["boxes"]


async def test_the_fidelity_report_counts_what_was_dropped(client, field_dataset):
    body = await send(client, field_dataset, "cvat.zip", case_zip("cvat_coco"))
    result = body["data"]["importAnnotations"]
    assert {d["kind"]: d["count"] for d in result["dropped"]}["rotation"] == 1, result


async def test_an_archive_with_its_frames_counts_only_its_annotations(
    client, runtime, field_dataset, monkeypatch
):
    """Our own export with images was refused (413); the archive is bounded by ANNOGRAPH_MAX_ARCHIVE_BYTES
    and only its annotation files count against ANNOGRAPH_MAX_UNPACKED_BYTES."""
    monkeypatch.setattr(runtime.settings, "max_unpacked_bytes", 100_000)
    monkeypatch.setattr(runtime.settings, "max_upload_bytes", 100_000)  # videos' limit: not the archive's
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("labels/episode_000001_front_000010.txt", "0 0.5 0.5 0.25 0.25\n")
        z.writestr("classes.txt", "cyclist\n")
        z.writestr("images/episode_000001_front_000010.jpg", os.urandom(300_000))
    body = await send(client, field_dataset, "big.zip", archive.getvalue())
    assert body["data"]["importAnnotations"]["boxes"] == 1, body
    monkeypatch.setattr(runtime.settings, "max_archive_bytes", 200_000)
    refused = await client.post(
        "/graphql",
        data={"operations": "{}", "map": "{}"},
        files={"0": ("big.zip", archive.getvalue(), "application/zip")},
    )
    assert refused.status_code == 413
    assert geometry(await stored(client, field_dataset)) == [
        (1, "front", 10, "cyclist", 120.0, 90.0, 80.0, 60.0)
    ]
