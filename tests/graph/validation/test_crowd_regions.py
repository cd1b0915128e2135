"""Crowd regions in test sessions (issue 17): a COCO `iscrowd` region imported as ground truth is ignored as
COCOeval ignores it (a detection on it is neither TP nor FP, and nobody must find it); the session's
counts and AP equal pycocotools' on the same boxes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import gql, register
from tests.graph.objects.test_annotation_transfer import upload
from tests.graph.objects_setup import objects
from tests.graph.validation_session_setup import INGEST, JUDGED, STOP, event, external_session
from tests.graph.validation_setup import VALIDATE, project_with_episodes

FRAME_0, FRAME_1 = "episode_000000_front_000000.jpg", "episode_000000_front_000001.jpg"
# (image, x, y, width, height, iscrowd) on the tiny dataset's 64 x 48 frames, all pedestrians.
TRUTH = [
    (FRAME_0, 0, 0, 30, 30, 1),  # a crowd: many people in one box
    (FRAME_0, 40, 10, 20, 20, 0),
    (FRAME_1, 10, 10, 20, 20, 0),
]
# (frame, x, y, width, height, score)
DETECTIONS = [
    (0, 5, 5, 10, 10, 0.9),  # inside the crowd (IoU 0.11, but all of it in the crowd): ignored
    (0, 42, 10, 20, 20, 0.8),  # IoU 360/440 = 0.82 with the second box: a TP up to IoU 0.80
    (1, 10, 10, 20, 20, 0.7),  # exact
    (1, 40, 25, 10, 10, 0.95),  # on nothing: a false alarm, ranked first
]


def coco_truth() -> dict:
    images = [{"id": 1, "file_name": FRAME_0, "width": 64, "height": 48}]
    images.append({"id": 2, "file_name": FRAME_1, "width": 64, "height": 48})
    annotations = [
        {
            "id": i,
            "image_id": 1 if image == FRAME_0 else 2,
            "category_id": 1,
            "bbox": [x, y, w, h],
            "area": w * h,
            "iscrowd": crowd,
        }
        for i, (image, x, y, w, h, crowd) in enumerate(TRUTH, 1)
    ]
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "pedestrian"}]}


def cocoeval(truth: dict) -> tuple[list[float], dict]:
    """pycocotools' AP (stats) and its matches at IoU 0.5 on the same boxes and detections."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO()
    gt.dataset = json.loads(json.dumps(truth))
    gt.createIndex()
    results = [
        {"image_id": frame + 1, "category_id": 1, "bbox": [x, y, w, h], "score": s}
        for frame, x, y, w, h, s in DETECTIONS
    ]
    evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
    evaluation.params.maxDets = [1, 10, 100]
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    counts = {"tp": 0, "fp": 0, "ignored": 0}
    for image in evaluation.evalImgs:
        if image is None or image["maxDet"] != 100 or image["aRng"] != [0, 1e10]:
            continue
        matched, ignored = image["dtMatches"][0], image["dtIgnore"][0]  # IoU 0.5
        counts["tp"] += int(((matched > 0) & ~ignored.astype(bool)).sum())
        counts["fp"] += int(((matched == 0) & ~ignored.astype(bool)).sum())
        counts["ignored"] += int(ignored.astype(bool).sum())
    return list(evaluation.stats), counts


async def test_a_detection_on_a_crowd_region_is_neither_tp_nor_fp_as_in_cocoeval(
    client, runtime, tiny_dataset
):
    await register(runtime, tiny_dataset)
    project, episodes, dataset = await project_with_episodes(client)
    truth = coco_truth()
    imported = await upload(client, dataset, "truth.json", json.dumps(truth).encode())
    assert imported["data"]["importAnnotations"]["boxes"] == 3, imported
    stored = (await objects(client, episodes[0]))["edges"]
    assert len(stored) == 3
    validated = await gql(client, VALIDATE, ids=[e["node"]["id"] for e in stored])
    assert "errors" not in validated, validated
    crowd = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Episode { objects { edges { node { id crowd box { x } } } } } } }",
        id=episodes[0],
    )
    marks = sorted(
        (e["node"]["box"]["x"], e["node"]["crowd"]) for e in crowd["data"]["node"]["objects"]["edges"]
    )
    assert marks == [(0.0, True), (10.0, False), (40.0, False)]
    crowd_id = next(e["node"]["id"] for e in crowd["data"]["node"]["objects"]["edges"] if e["node"]["crowd"])

    session = await external_session(client, {"project": project, "ids": episodes})
    sent = await gql(
        client,
        INGEST,
        s=session,
        e=[event(episodes[0], f, box=(x, y, w, h), score=s) for f, x, y, w, h, s in DETECTIONS],
    )
    assert sent == {"data": {"ingestDetectionEvents": 4}}, sent
    await gql(client, STOP, id=session)
    done = (await gql(client, JUDGED, id=session))["data"]["node"]
    ev, overall = done["evaluation"], done["evaluation"]["overall"]

    stats, counts = cocoeval(truth)
    assert counts == {"tp": 2, "fp": 1, "ignored": 1}  # pycocotools ignores the detection on the crowd
    assert (overall["truePositives"], overall["falsePositives"], overall["falseNegatives"]) == (2, 1, 0)
    assert (ev["groundTruthBoxes"], ev["detections"], ev["difficultBoxes"], ev["detectionsOnDifficult"]) == (
        3,
        4,
        1,
        1,
    )
    assert overall["precision"] == pytest.approx(2 / 3) and overall["recall"] == 1.0
    assert overall["ap50"] == pytest.approx(stats[1]) and stats[1] == pytest.approx(2 / 3)
    ap = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on TestSession { evaluation { overall { ap50To95 } } } } }",
        id=session,
    )
    assert ap["data"]["node"]["evaluation"]["overall"]["ap50To95"] == pytest.approx(stats[0])
    ignored = [(e["node"]["frame"], e["node"]["annotation"]["id"]) for e in done["ignored"]["edges"]]
    assert ignored == [(0, crowd_id)]  # the detection and the crowd box it lies in: one IGNORED pair
