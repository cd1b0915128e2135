"""exportTestSessionReport through the graph: HTML (self-contained, every section, opens), JSON (the
graph's numbers, the PR curve equal to COCOeval's), CSV (one row per comparison), errors and rights."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from domain.validation.reports.html import SECTIONS
from tests.conftest import gql, http_client, make_user, register
from tests.graph.validation_setup import ground_truth, project_with_episodes

CREATE = """mutation($input: CreateTestSessionInput!) { createTestSession(input: $input) { id } }"""
START = "mutation($id: ID!) { startTestSession(id: $id) { id status } }"
STOP = "mutation($id: ID!) { stopTestSession(id: $id) { id status } }"
INGEST = "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
REPORT = """mutation($s: ID!, $f: ReportFormat!) { exportTestSessionReport(sessionId: $s, format: $f) {
  id kind status } }"""
JOB = "query($id: ID!) { node(id: $id) { ... on Job { status progress artifactUrl summary errorMessage } } }"
JOBS = "{ jobs { totalCount } }"
EVALUATION = """query($id: ID!) { node(id: $id) { ... on TestSession { name
  verdict { passed reasons notes }
  evaluation { frames groundTruthBoxes detections ignoredDetections difficultBoxes detectionsOnDifficult
    maxDetections detectionsBeyondLimit framesBeyondLimit partial note
    overall { ...M } perLabel { label metrics { ...M } }
    latency { count p50Ms p95Ms p99Ms maxMs withinTolerance } }
  comparisons { totalCount }
  tp: comparisons(kind: TP) { totalCount } fp: comparisons(kind: FP) { totalCount }
  fn: comparisons(kind: FN) { totalCount } } } }
fragment M on DetectionMetrics { truePositives falsePositives falseNegatives precision recall f1 ap50 ap50To95
  precisionInterval { low high } recallInterval { low high } f1Interval { low high } ap50Interval { low high } }"""

# (frame, label, x, y, w, h) on episode 0, camera front (64 x 48)
TRUTH = [
    (0, "pedestrian", 10, 10, 20, 20),
    (0, "vehicle", 40, 10, 10, 10),
    (1, "pedestrian", 10, 10, 20, 20),
    (1, "pedestrian", 34, 20, 12, 16),
    (2, "pedestrian", 5, 5, 10, 30),
    (3, "vehicle", 30, 20, 20, 12),
    (4, "pedestrian", 10, 12, 20, 20),
    (5, "vehicle", 2, 2, 30, 30),
]
# (frame, label, box, score)
DETECTIONS = [
    (0, "pedestrian", (11, 10, 20, 20), 0.95),
    (0, "vehicle", (42, 10, 10, 10), 0.8),
    (0, "pedestrian", (40, 30, 10, 10), 0.7),  # FP
    (1, "pedestrian", (10, 11, 20, 19), 0.9),
    (1, "pedestrian", (35, 21, 12, 15), 0.4),
    (2, "pedestrian", (30, 5, 10, 30), 0.85),  # FP; the box is missed
    (3, "vehicle", (31, 20, 19, 12), 0.6),
    (4, "pedestrian", (10, 12, 20, 20), 0.3),
    (4, "vehicle", (50, 30, 10, 10), 0.55),  # FP
    (5, "vehicle", (4, 4, 30, 28), 0.65),
]
CRITERIA = {"minPrecision": 0.9, "minRecall": 0.5, "maxP95LatencyMs": 60000}


def event(episode: str, frame: int, label: str, box: tuple, score: float) -> dict:
    x, y, w, h = box
    sent = (datetime.now(UTC) - timedelta(milliseconds=20)).isoformat()
    return {
        "episodeId": episode,
        "camera": "front",
        "frame": frame,
        "label": label,
        "x": x,
        "y": y,
        "width": w,
        "height": h,
        "score": score,
        "sentAt": sent,
    }


def job_number(job_id: str) -> int:
    return int(base64.b64decode(job_id).decode().split(":")[1])


@pytest.fixture
async def evaluated(client, runtime, tiny_dataset):
    """An EXTERNAL session on episode 0, six frames processed, stopped (so evaluated)."""
    await register(runtime, tiny_dataset)
    project, ids, _ = await project_with_episodes(client, criteria=CRITERIA)
    await ground_truth(client, ids[0], TRUTH)
    made = await gql(
        client,
        CREATE,
        input={"projectId": project, "name": "device <7> & co", "source": "EXTERNAL", "episodeIds": [ids[0]]},
    )
    session = made["data"]["createTestSession"]["id"]
    assert "errors" not in await gql(client, START, id=session)
    events = [event(ids[0], f, label, box, score) for f, label, box, score in DETECTIONS]
    sent = await gql(client, INGEST, s=session, e=events)
    assert sent == {"data": {"ingestDetectionEvents": len(DETECTIONS)}}, sent
    stopped = await gql(client, STOP, id=session)
    assert stopped["data"]["stopTestSession"]["status"] == "STOPPED", stopped
    graph = await gql(client, EVALUATION, id=session)
    assert "errors" not in graph, graph
    return {"session": session, "project": project, "episodes": ids, "graph": graph["data"]["node"]}


async def report(client, runtime, session: str, fmt: str) -> tuple[dict, bytes, str]:
    made = await gql(client, REPORT, s=session, f=fmt)
    assert "errors" not in made, made
    job = made["data"]["exportTestSessionReport"]
    assert job["kind"] == "EXPORT"
    await runtime.jobs.wait(job_number(job["id"]))
    node = (await gql(client, JOB, id=job["id"]))["data"]["node"]
    assert node["status"] == "COMPLETED", node
    assert node["progress"] == 1.0 and node["summary"]["format"] == fmt
    response = await client.get(node["artifactUrl"])
    assert response.status_code == 200
    assert node["summary"]["bytes"] == len(response.content)
    return node, response.content, response.headers["content-type"]


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[tuple[str, str]] = []  # (class, src)
        self.tags: set[str] = set()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a["id"])
        if tag == "img":
            self.images.append((a.get("class", ""), a["src"]))


async def test_the_html_report_is_one_self_contained_page_with_every_section(client, runtime, evaluated):
    node, content, content_type = await report(client, runtime, evaluated["session"], "HTML")
    assert content_type.startswith("text/html")
    assert node["artifactUrl"].endswith(".html")
    text = content.decode("utf-8")
    assert not re.search(r"https?:", text, re.IGNORECASE)  # nothing to fetch, no link out
    assert "<script" not in text and "<link" not in text
    page = Page()
    page.feed(text)
    page.close()
    assert page.sections == list(SECTIONS)
    assert "Test session report: device &lt;7&gt; &amp; co" in text  # user text escaped
    plots = [src for css, src in page.images if css == "plot"]
    thumbs = [src for css, src in page.images if css == "thumb"]
    # PR, sweep, latency, one episode's frames
    assert len(plots) == 4
    graph = evaluated["graph"]
    assert len(thumbs) == graph["fp"]["totalCount"] + graph["fn"]["totalCount"] == 3 + 1
    for src in plots + thumbs:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        image.load()
        assert image.format == "PNG" and image.width > 0
    assert max(Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).size[0] for s in thumbs) <= 200
    # the verdict and each criterion: precision 0.7 misses 0.9; recall and latency hold
    assert "FAILED" in text and "precision 0.70 &lt; 0.90" in text
    verdict = text[text.index('<section id="verdict">') : text.index('<section id="metrics">')]
    assert verdict.count("<td>not met</td>") == 1 and verdict.count("<td>met</td>") == 2


async def test_the_json_report_carries_the_graphs_numbers_and_cocos_pr_curve(client, runtime, evaluated):
    node, content, content_type = await report(client, runtime, evaluated["session"], "JSON")
    assert content_type.startswith("application/json")
    data = json.loads(content)
    graph = evaluated["graph"]
    assert data["evaluation"] == graph["evaluation"]
    assert {k: data["verdict"][k] for k in ("passed", "reasons", "notes")} == graph["verdict"]
    assert data["session"]["name"] == graph["name"] and data["session"]["matchIou"] == 0.5
    assert [c["name"] for c in data["verdict"]["criteria"]] == ["precision", "recall", "p95 latency (ms)"]
    assert [c["passed"] for c in data["verdict"]["criteria"]] == [False, True, True]
    assert data["notes"] == []

    # the PR curve: COCOeval on the same boxes and detections at the session's IoU
    labels = ["pedestrian", "vehicle"]
    gt = [
        {
            "id": i + 1,
            "image_id": f,
            "category_id": labels.index(lab),
            "bbox": [x, y, w, h],
            "area": w * h,
            "iscrowd": 0,
        }
        for i, (f, lab, x, y, w, h) in enumerate(TRUTH)
    ]
    dets = [
        {"image_id": f, "category_id": labels.index(lab), "bbox": list(box), "score": s}
        for f, lab, box, s in DETECTIONS
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {
            "images": [{"id": f} for f in range(6)],
            "categories": [{"id": 0}, {"id": 1}],
            "annotations": gt,
        }
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(dets), "bbox")
        evaluator.params.iouThrs = np.array([0.5])
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][0, :, :, 0, -1]
    pr = data["precisionRecall"]
    assert pr["iou"] == 0.5 and len(pr["recall"]) == 101
    for k, curve in enumerate(pr["labels"]):
        assert curve["label"] == labels[k]
        np.testing.assert_allclose(curve["precision"], precision[:, k], atol=1e-12)
        per_label = graph["evaluation"]["perLabel"][k]["metrics"]
        assert curve["ap"] == pytest.approx(per_label["ap50"], abs=1e-12)  # at IoU 0.5: the session's AP50

    sweep = data["thresholdSweep"]
    assert sweep["thresholds"] == sorted({s for *_, s in DETECTIONS})
    overall = graph["evaluation"]["overall"]
    first = (sweep["overall"]["tp"][0], sweep["overall"]["fp"][0], sweep["overall"]["fn"][0])
    assert first == (overall["truePositives"], overall["falsePositives"], overall["falseNegatives"])
    best = sweep["best"]
    assert best["f1"] == max(v for v in sweep["overall"]["f1"] if v is not None)
    # recomputed by hand: keeping score >= t, count the detections of DETECTIONS that match (they all
    # match their own box or none, one to one here)
    false_positive_scores = {0.7, 0.85, 0.55}
    kept = [s for *_, s in DETECTIONS if s >= best["threshold"]]
    tp = sum(1 for s in kept if s not in false_positive_scores)
    fp = len(kept) - tp
    assert best["f1"] == pytest.approx(2 * tp / (2 * tp + fp + len(TRUTH) - tp))
    assert data["latency"]["values"] == graph["evaluation"]["latency"]["count"]
    assert sum(data["latency"]["counts"]) + data["latency"]["beyond"] == data["latency"]["values"]
    frames = data["frames"]
    assert len(frames) == 1 and frames[0]["frame"] == [0, 1, 2, 3, 4, 5]
    assert frames[0]["time"] == pytest.approx([f / 30 for f in range(6)], abs=1e-6)
    assert (
        sum(frames[0]["tp"]) == overall["truePositives"] and sum(frames[0]["fn"]) == overall["falseNegatives"]
    )
    assert [w["score"] for w in data["worstFalsePositives"]] == [0.85, 0.7, 0.55]
    assert [w["box"] for w in data["worstMisses"]] == [{"x": 5, "y": 5, "width": 10, "height": 30}]


async def test_the_csv_report_has_one_row_per_comparison(client, runtime, evaluated):
    node, content, content_type = await report(client, runtime, evaluated["session"], "CSV")
    assert content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    graph = evaluated["graph"]
    assert len(rows) == graph["comparisons"]["totalCount"] == node["summary"]["rows"]
    kinds = [r["kind"] for r in rows]
    for kind in ("tp", "fp", "fn"):
        assert kinds.count(kind.upper()) == graph[kind]["totalCount"]
    fp = next(r for r in rows if r["kind"] == "FP" and float(r["score"]) == 0.85)
    assert (fp["frame"], fp["label"], fp["detection_x"], fp["truth_x"]) == ("2", "pedestrian", "30.0", "")
    miss = next(r for r in rows if r["kind"] == "FN")
    assert (miss["frame"], miss["truth_height"], miss["score"]) == ("2", "30.0", "")
    assert all(float(r["latency_ms"]) >= 0 for r in rows if r["detection_id"])
    assert {r["episode_index"] for r in rows} == {"0"}


async def test_bad_requests_are_named_and_start_no_job(client, runtime, evaluated):
    before = (await gql(client, JOBS))["data"]["jobs"]["totalCount"]
    wrong_type = await gql(client, REPORT, s=evaluated["project"], f="HTML")
    assert wrong_type["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert wrong_type["errors"][0]["extensions"]["field"] == "sessionId"
    missing = base64.b64encode(b"TestSession:999999").decode()
    gone = await gql(client, REPORT, s=missing, f="JSON")
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert gone["errors"][0]["extensions"]["field"] == "sessionId"
    assert "999999" in gone["errors"][0]["message"]
    made = await gql(
        client, CREATE, input={"projectId": evaluated["project"], "name": "later", "source": "EXTERNAL"}
    )
    fresh = made["data"]["createTestSession"]["id"]
    early = await gql(client, REPORT, s=fresh, f="CSV")
    assert early["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert early["errors"][0]["extensions"]["field"] == "sessionId"
    assert "no evaluation yet" in early["errors"][0]["message"]
    bad_format = await gql(client, REPORT, s=evaluated["session"], f="PDF")
    assert "errors" in bad_format and "ReportFormat" in bad_format["errors"][0]["message"]
    assert (await gql(client, JOBS))["data"]["jobs"]["totalCount"] == before


@pytest.mark.parametrize("role", ["VIEWER", "ANNOTATOR"])
async def test_a_user_without_the_reviewer_role_is_refused(app, client, runtime, evaluated, role):
    before = (await gql(client, JOBS))["data"]["jobs"]["totalCount"]
    token = await make_user(runtime, f"someone-{role.lower()}", role)
    async with http_client(app, token) as other:
        refused = await gql(other, REPORT, s=evaluated["session"], f="HTML")
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(client, JOBS))["data"]["jobs"]["totalCount"] == before
