"""COCO in and out through the graph (issue 17), on both databases: the field cases' crowd regions, CVAT
attributes and Roboflow splits are stored and answered (ObjectAnnotation.crowd / attributes / split); exports
lay COCO out as datumaro and CVAT do, carry those back, and list frames without boxes when asked."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from unittest.mock import ANY

from tests.conftest import gql
from tests.graph.objects.test_annotation_transfer import clear, export, upload, zipped

CASES = Path(__file__).resolve().parents[2] / "field_cases" / "annotations"
BOXES = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes(first: 10) { edges { node { index
  objects(first: 100) { edges { node { camera frame trackId occluded keyframe crowd attributes split
    label { name } box { x y width height } } } } } } } } } }"""


def case_zip(case: str) -> bytes:
    """The field case's folder as a user zips it (images included)."""
    out = io.BytesIO()
    root = CASES / case
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, f"{case}/{path.relative_to(root).as_posix()}")
    return out.getvalue()


async def stored(client, dataset_id: str) -> list[tuple]:
    """(episode, camera, frame, label, x, y, width, height, trackId, occluded, keyframe, crowd, attributes,
    split) of every box, sorted."""
    body = await gql(client, BOXES, id=dataset_id)
    assert "errors" not in body, body
    found = []
    for edge in body["data"]["node"]["episodes"]["edges"]:
        for b in edge["node"]["objects"]["edges"]:
            n = b["node"]
            box = n["box"]
            found.append(
                (
                    edge["node"]["index"],
                    n["camera"],
                    n["frame"],
                    n["label"]["name"],
                    box["x"],
                    box["y"],
                    box["width"],
                    box["height"],
                    n["trackId"],
                    n["occluded"],
                    n["keyframe"],
                    n["crowd"],
                    n["attributes"],
                    n["split"],
                )
            )
    return sorted(found, key=lambda b: (b[0], b[1], b[2], b[4]))


async def test_a_crowd_region_is_stored_as_a_crowd_box(client, field_dataset):
    content = (CASES / "coco_rle_crowd" / "annotations.json").read_bytes()
    result = await upload(client, field_dataset, "annotations.json", content)
    assert result["data"]["importAnnotations"]["boxes"] == 2, result
    boxes = await stored(client, field_dataset)
    assert [b[:8] + b[9:] for b in boxes] == [
        (1, "front", 10, "pedestrian", 50.0, 60.0, 20.0, 20.0, False, True, True, {}, None),
        (1, "front", 10, "pedestrian", 200.0, 100.0, 10.0, 10.0, False, True, False, {}, None),
    ]


async def test_cvat_coco_comes_in_with_its_track_flags_and_custom_attribute(client, field_dataset):
    result = await upload(client, field_dataset, "cvat_coco.zip", case_zip("cvat_coco"))
    summary = result["data"]["importAnnotations"]
    assert (summary["boxes"], summary["tracks"]) == (3, 2), result
    boxes = await stored(client, field_dataset)
    assert [b for b in boxes if b[8] == "0"] == [
        (1, "front", 10, "pedestrian", 10.0, 20.0, 20.0, 30.0, "0", False, True, False, {}, "default"),
        (1, "front", 11, "pedestrian", 12.0, 20.0, 20.0, 30.0, "0", True, False, False, {}, "default"),
    ]
    (cyclist,) = [b for b in boxes if b[3] == "cyclist"]
    assert cyclist[:8] == (1, "front", 10, "cyclist", 100.5, 50.25, 40.0, 40.5)
    assert cyclist[9:] == (False, True, False, {"age": "adult"}, "default")


async def test_roboflow_splits_are_stored_per_box(client, field_dataset):
    result = await upload(client, field_dataset, "roboflow.zip", case_zip("roboflow_coco"))
    assert result["data"]["importAnnotations"]["boxes"] == 2, result
    boxes = await stored(client, field_dataset)
    assert [(b[2], b[3], b[4:8], b[13]) for b in boxes] == [
        (10, "pedestrian", (10.0, 20.0, 20.0, 30.0), "train"),
        (11, "pedestrian", (10.0, 20.0, 20.0, 30.0), "valid"),
    ]


async def test_coco_and_annograph_exports_carry_crowd_attributes_and_split_back(
    client, runtime, field_dataset
):
    await upload(client, field_dataset, "cvat_coco.zip", case_zip("cvat_coco"))
    await upload(
        client, field_dataset, "crowd.json", (CASES / "coco_rle_crowd" / "annotations.json").read_bytes()
    )
    await upload(client, field_dataset, "roboflow.zip", case_zip("roboflow_coco"))
    before = await stored(client, field_dataset)
    assert len(before) == 7

    node, archive = await export(client, runtime, datasetId=field_dataset, format="COCO", includeImages=True)
    names = sorted(archive.namelist())
    assert [n for n in names if n.startswith("annotations/")] == [
        "annotations/instances_default.json",
        "annotations/instances_train.json",
        "annotations/instances_valid.json",
    ]
    assert [n for n in names if n.startswith("images/")] == [
        "images/default/episode_000001_front_000010.jpg",
        "images/default/episode_000001_front_000011.jpg",
        "images/train/episode_000001_front_000010.jpg",
        "images/valid/episode_000001_front_000011.jpg",
    ]
    assert node["summary"]["fidelity"]["lost"] == [
        "colours of 2 labels"
    ]  # crowd, attributes, splits: carried
    default = json.loads(archive.read("annotations/instances_default.json"))
    crowds = [a for a in default["annotations"] if a["iscrowd"]]
    assert [a["bbox"] for a in crowds] == [[50.0, 60.0, 20.0, 20.0]]
    cyclist = next(a for a in default["annotations"] if a["attributes"].get("age"))
    assert cyclist["attributes"]["age"] == "adult" and cyclist["attributes"]["occluded"] is False
    await clear(client, field_dataset)
    result = await upload(client, field_dataset, "export.zip", zipped(archive))
    assert result["data"]["importAnnotations"]["boxes"] == 7, result
    after = await stored(client, field_dataset)
    # Boxes without a split come back in `default`, the subset they were written in.
    assert after == sorted(
        [b[:13] + (b[13] or "default",) for b in before], key=lambda b: (b[0], b[1], b[2], b[4])
    )

    _, archive = await export(client, runtime, datasetId=field_dataset, format="ANNOGRAPH")
    await clear(client, field_dataset)
    result = await upload(client, field_dataset, "export.zip", zipped(archive))
    assert "errors" not in result, result
    assert await stored(client, field_dataset) == after


async def test_negatives_list_every_frame_of_the_selection(client, runtime, field_dataset):
    await upload(
        client, field_dataset, "crowd.json", (CASES / "coco_rle_crowd" / "annotations.json").read_bytes()
    )
    episodes = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { episodes { edges { node { id index } } } } } }",
        id=field_dataset,
    )
    ids = {e["node"]["index"]: e["node"]["id"] for e in episodes["data"]["node"]["episodes"]["edges"]}
    node, archive = await export(
        client, runtime, episodeIds=[ids[1], ids[2]], cameras=["front"], format="COCO", negatives=True
    )
    # Episodes 1 and 2 have 50 and 60 frames: every front frame is an image, one with boxes.
    assert node["summary"]["images"] == 110 and node["summary"]["boxes"] == 2
    document = json.loads(archive.read("annotations/instances_default.json"))
    images = [m["file_name"] for m in document["images"]]
    assert len(images) == 110 and images[0] == "episode_000001_front_000000.jpg"
    assert images[10] == "episode_000001_front_000010.jpg" and images[-1] == "episode_000002_front_000059.jpg"
    assert {a["image_id"] for a in document["annotations"]} == {11}
    jobs = await gql(client, "{ jobs(first: 1) { edges { node { parameters } } } }")
    parameters = jobs["data"]["jobs"]["edges"][0]["node"]["parameters"]
    assert (parameters["negatives"], parameters["vocOneBased"]) == (True, False)

    node, archive = await export(client, runtime, datasetId=field_dataset, format="COCO")
    assert node["summary"]["images"] == 1  # without negatives, only the frame with boxes


DATUMARO = Path(__file__).resolve().parents[3] / ".venv-datumaro" / "bin" / "python"
# Run in datumaro's own venv (`make test` builds it): the boxes datumaro's COCO importer sees.
SEE = """
import json, sys
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], "coco_instances")
names = dataset.categories()[AnnotationType.label]
print(json.dumps(sorted(
    [item.subset, item.id, names[a.label].name, [a.x, a.y, a.w, a.h], a.attributes.get("is_crowd"),
     a.attributes.get("age"), str(a.attributes.get("track_id"))]
    for item in dataset for a in item.annotations if a.type == AnnotationType.bbox)))
"""


async def test_datumaro_reads_the_coco_export_with_its_subsets_and_crowds(
    client, runtime, field_dataset, tmp_path
):
    """The export zip as a user downloads it, without the frames: datumaro finds it by its images/ folders."""
    import subprocess

    await upload(client, field_dataset, "cvat_coco.zip", case_zip("cvat_coco"))
    await upload(
        client, field_dataset, "crowd.json", (CASES / "coco_rle_crowd" / "annotations.json").read_bytes()
    )
    await upload(client, field_dataset, "roboflow.zip", case_zip("roboflow_coco"))
    _, archive = await export(client, runtime, datasetId=field_dataset, format="COCO")
    assert {n for n in archive.namelist() if n.startswith("images/")} == {
        "images/default/",
        "images/train/",
        "images/valid/",
    }
    archive.extractall(tmp_path)
    assert DATUMARO.exists(), f"{DATUMARO} is missing: `make test` builds it"
    done = subprocess.run(
        [str(DATUMARO), "-c", SEE, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    frame_10, frame_11 = "episode_000001_front_000010", "episode_000001_front_000011"
    assert json.loads(done.stdout) == [
        ["default", frame_10, "cyclist", [100.5, 50.25, 40.0, 40.5], False, "adult", ANY],
        ["default", frame_10, "pedestrian", [10.0, 20.0, 20.0, 30.0], False, None, "0"],
        ["default", frame_10, "pedestrian", [50.0, 60.0, 20.0, 20.0], True, None, ANY],
        ["default", frame_10, "pedestrian", [200.0, 100.0, 10.0, 10.0], False, None, ANY],
        ["default", frame_11, "pedestrian", [12.0, 20.0, 20.0, 30.0], False, None, "0"],
        ["train", frame_10, "pedestrian", [10.0, 20.0, 20.0, 30.0], False, None, ANY],
        ["valid", frame_11, "pedestrian", [10.0, 20.0, 20.0, 30.0], False, None, ANY],
    ]
