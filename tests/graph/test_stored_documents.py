"""JSON columns through their models (persistence/documents, persistence.columns.TypedJSON): rows written
before the models, in the shapes of earlier releases, still read; typed writes store the same keys as
before."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import bindparam, select, text
from strawberry import relay

from persistence.columns import JSONType, utcnow
from persistence.documents import (
    AnalysisValues,
    AnnotationExportParameters,
    ClusterMember,
    DetectionParameters,
    EpisodeExportParameters,
    EpisodeMetrics,
    JobParameters,
    JobResult,
    RevisionContent,
    SessionMetrics,
    SessionSettings,
    SourceField,
    StoredCriteria,
    UnmeasuredEpisode,
)
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_analysis as results_repo
from persistence.repositories import episode_edit as edits_repo
from persistence.repositories import job as jobs_repo
from persistence.repositories import test_session as sessions_repo
from persistence.tables import AnnotationRevisionRow, DatasetRow, EpisodeAnalysisRow
from tests.conftest import gql, register
from tests.graph.objects import test_annotation_transfer as transfer
from tests.graph.validation_setup import project_with_episodes
from tests.raw_json import write_raw_json

# test_session.metrics as the first evaluation wrote it (before difficult boxes, maxDetections, notes).
FIRST_METRICS = {
    "frames": 3,
    "groundTruth": 4,
    "detections": 5,
    "ignoredDetections": 1,
    "overall": {
        "tp": 3,
        "fp": 1,
        "fn": 1,
        "precision": 0.75,
        "recall": 0.75,
        "f1": 0.75,
        "ap50": 0.7,
        "ap50_95": 0.4,
        "precisionCi": [0.3, 0.95],
        "recallCi": [0.3, 0.95],
        "f1Ci": None,
        "ap50Ci": None,
    },
    "perLabel": [{"label": "pedestrian", "tp": 3, "fp": 1, "fn": 1, "precision": 0.75}],
    "latency": {"count": 2, "p50": 10.0, "p95": 19.0, "p99": 19.8, "max": 20.0, "withinTolerance": 1.0},
    "note": "evaluated on the 3 of 150 frames processed",
}
# test_session.settings and project.criteria as saved before the renames (issue 16).
FIRST_SETTINGS = {
    "confidence": 0.3,
    "iou": 0.6,
    "frameStride": 2,
    "classMap": {"person": "pedestrian"},
    "imageSize": None,
}
FIRST_CRITERIA = {"minPrecision": 0.9, "minRecall": None, "iouThreshold": 0.6}

SESSION = """query($id: ID!) { node(id: $id) { ... on TestSession { matchIou maxDetections
  criteria { minPrecision minRecall matchIou iouThreshold }
  evaluation { frames groundTruthBoxes detections ignoredDetections difficultBoxes maxDetections
    detectionsBeyondLimit note partial
    overall { truePositives precision ap50To95 precisionInterval { low high } f1Interval { low } }
    perLabel { label metrics { truePositives falsePositives ap50 } }
    latency { count p50Ms maxMs withinTolerance } }
  verdict { passed reasons notes } } } }"""


def test_the_models_read_the_first_shapes():
    metrics = SessionMetrics.model_validate(FIRST_METRICS)
    assert (metrics.ground_truth, metrics.max_detections, metrics.difficult_boxes, metrics.verdict_notes) == (
        4,
        100,
        0,
        [],
    )
    assert metrics.overall.precision_ci == (0.3, 0.95) and metrics.overall.ap50_95 == 0.4
    assert metrics.per_label[0].recall is None and metrics.latency.within_tolerance == 1.0
    settings = SessionSettings.model_validate(FIRST_SETTINGS)
    assert (settings.score_threshold, settings.nms_iou, settings.max_detections) == (0.3, 0.6, None)
    assert StoredCriteria.model_validate(FIRST_CRITERIA).match_iou == 0.6
    assert StoredCriteria.model_validate({}).match_iou is None  # criteria never saved: the default's
    (field,) = TypeAdapter(list[SourceField]).validate_python([{"source": "/joint_states", "target": None}])
    assert (field.shape, field.dtype, field.note) == (None, None, "")  # keys a mapping may lack
    with pytest.raises(ValidationError, match="groundTruth"):
        SessionMetrics.model_validate({k: v for k, v in FIRST_METRICS.items() if k != "groundTruth"})


def test_a_model_stores_the_keys_rows_always_had():
    stored = SessionMetrics.model_validate(FIRST_METRICS).model_dump(mode="json", by_alias=True)
    assert set(FIRST_METRICS) <= set(stored) and set(FIRST_METRICS["overall"]) <= set(stored["overall"])
    assert stored["overall"]["precisionCi"] == [0.3, 0.95]
    settings = SessionSettings.model_validate(FIRST_SETTINGS).model_dump(mode="json", by_alias=True)
    assert settings == {
        "scoreThreshold": 0.3,
        "nmsIou": 0.6,
        "frameStride": 2,
        "classMap": {"person": "pedestrian"},
        "imageSize": None,
        "maxDetections": None,
        "signalPaths": None,  # added later (issue 22): a first-shape row has none, so NETWORK applies
    }


async def test_a_test_session_written_in_the_first_shapes_reads(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, _, _ = await project_with_episodes(client)
    project_id = int(relay.GlobalID.from_id(project).node_id)
    async with runtime.sessions() as db, db.begin():
        row = await sessions_repo.insert_test_session(
            db,
            {
                "project_id": project_id,
                "name": "old",
                "source": "EXTERNAL",
                "status": "COMPLETED",
                "episode_ids": [],
                "frames_total": 150,
                "passed": False,
                "partial": True,
                "match_iou": 0.6,
                "tolerance_ms": 100.0,
                "settings": {},
                "criteria": {},
                "created_at": utcnow(),
                "evaluated_at": utcnow(),
            },
        )
        for column, value in (
            ("settings", FIRST_SETTINGS),
            ("criteria", FIRST_CRITERIA),
            ("metrics", FIRST_METRICS),
            ("reasons", ["precision 0.75 < 0.90"]),
        ):
            await write_raw_json(db, "test_session", column, row.id, value)
    async with runtime.sessions() as db:
        stored = await sessions_repo.read_test_session(db, row.id)
    assert stored is not None and isinstance(stored.metrics, SessionMetrics)
    assert (stored.settings.score_threshold, stored.criteria.match_iou) == (0.3, 0.6)
    body = await gql(client, SESSION, id=relay.to_base64("TestSession", row.id))
    assert "errors" not in body, body
    found = body["data"]["node"]
    assert found["maxDetections"] == 100
    assert found["criteria"] == {"minPrecision": 0.9, "minRecall": None, "matchIou": 0.6, "iouThreshold": 0.6}
    evaluation = found["evaluation"]
    assert (evaluation["frames"], evaluation["groundTruthBoxes"], evaluation["difficultBoxes"]) == (3, 4, 0)
    assert (evaluation["maxDetections"], evaluation["detectionsBeyondLimit"], evaluation["partial"]) == (
        100,
        0,
        True,
    )
    assert evaluation["note"] == FIRST_METRICS["note"]
    assert evaluation["overall"] == {
        "truePositives": 3,
        "precision": 0.75,
        "ap50To95": 0.4,
        "precisionInterval": {"low": 0.3, "high": 0.95},
        "f1Interval": None,
    }
    assert evaluation["perLabel"] == [
        {"label": "pedestrian", "metrics": {"truePositives": 3, "falsePositives": 1, "ap50": None}}
    ]
    assert evaluation["latency"] == {"count": 2, "p50Ms": 10.0, "maxMs": 20.0, "withinTolerance": 1.0}
    assert found["verdict"] == {"passed": False, "reasons": ["precision 0.75 < 0.90"], "notes": []}


async def test_a_typed_write_stores_camel_case_keys(client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    project, _, _ = await project_with_episodes(client, criteria={"minPrecision": 0.8, "matchIou": 0.4})
    query = text("SELECT criteria FROM project WHERE id = :id").columns(criteria=JSONType)
    async with runtime.sessions() as db:
        raw = (await db.execute(query, {"id": int(relay.GlobalID.from_id(project).node_id)})).scalar_one()
    assert raw == {
        "minPrecision": 0.8,
        "minRecall": None,
        "minF1": None,
        "minAp50": None,
        "maxP95LatencyMs": None,
        "matchIou": 0.4,
    }


def test_a_jobs_document_keeps_its_kinds_keys_and_reads_them_through_the_kinds_model():
    # A detection job's parameters as saved before the renames (confidence, iou).
    stored = {
        "episodeId": 3,
        "camera": "front",
        "model": "m.pt",
        "frames": 10,
        "confidence": 0.3,
        "iou": 0.6,
        "classMap": None,
        "requestedBy": 2,
    }
    parameters = JobParameters.model_validate(stored)
    assert parameters.requested_by == 2 and parameters.stored() == stored
    detection = parameters.as_kind(DetectionParameters)
    assert detection is not None and (detection.score_threshold, detection.nms_iou) == (0.3, 0.6)
    assert parameters.as_kind(EpisodeExportParameters) is None  # another kind's
    assert JobParameters.model_validate({"path": "/data/x"}).stored() == {"path": "/data/x"}  # none added
    result = JobResult.model_validate({"artifact": "a.zip", "boxes": 3})
    assert result.artifact == "a.zip" and result.stored() == {"artifact": "a.zip", "boxes": 3}


JOB = """query($id: ID!) { node(id: $id) { ... on Job { parameters summary result artifactUrl } } }"""


async def test_a_job_written_before_the_models_reads_as_it_was(client, runtime):
    parameters = {
        "format": "COCO",
        "datasetId": 1,
        "episodeIds": None,
        "cameras": None,
        "onlyValidated": True,
        "includeImages": False,
        "requestedBy": 1,
    }
    summary = {"boxes": 2, "format": "COCO", "fidelity": {"lost": []}}
    async with runtime.sessions() as db, db.begin():
        job = await jobs_repo.create_job(
            db, kind="EXPORT", status="COMPLETED", target="export:dataset:1", version=1
        )
        await write_raw_json(db, "job", "parameters", job.id, parameters)
        await write_raw_json(db, "job", "summary", job.id, summary)
        await write_raw_json(db, "job", "result", job.id, {"artifact": "annotations_coco.zip", **summary})
    body = await gql(client, JOB, id=relay.to_base64("Job", job.id))
    assert "errors" not in body, body
    assert body["data"]["node"] == {
        "parameters": parameters,
        "summary": summary,
        "result": {"artifact": "annotations_coco.zip", **summary},
        "artifactUrl": f"/downloads/jobs/{job.id}/annotations_coco.zip",
    }
    async with runtime.sessions() as db:
        (row,) = await jobs_repo.read_jobs_by_ids(db, [job.id])
    export = row.parameters.as_kind(AnnotationExportParameters)
    assert export is not None and (export.dataset_id, export.only_validated, export.requested_by) == (
        1,
        True,
        1,
    )


# episode_analysis.values of TRAJECTORY_METRICS as the first runs wrote them (before unmeasured episodes:
# no "measured"), and an unmeasured episode's.
FIRST_TRAJECTORY = {
    "smoothness": 0.5,
    "efficiency": 0.9,
    "jitter": 0.1,
    "hesitation_count": 0,
    "correction_count": 1,
    "path_length": 2.0,
    "overall_score": 4,
    "flags": ["jittery"],
    "mean_speed": 0.3,
    "max_speed": 1.2,
    "duration": 1.5,
    "samples": 30,
}
UNMEASURED = {
    "measured": False,
    "samples": 2,
    "reason": "2 finite sample(s) of joint positions; the metrics need at least 4",
}


def test_analysis_values_read_through_their_kinds_model():
    values = AnalysisValues.model_validate(FIRST_TRAJECTORY)
    metrics = values.as_kind(EpisodeMetrics)
    assert metrics is not None and (metrics.measured, metrics.overall_grade, metrics.flags) == (
        True,
        4,
        ["jittery"],
    )
    assert metrics.stored() == FIRST_TRAJECTORY  # stored as given: snake_case, no "measured" added
    assert AnalysisValues.model_validate(UNMEASURED).as_kind(EpisodeMetrics) is None  # no metrics
    assert AnalysisValues.model_validate({"suggestions": 3}).as_kind(EpisodeMetrics) is None  # another kind's
    member = ClusterMember(cluster=1, outlier=False, features=[0.5, 2.0])
    assert member.stored() == {"cluster": 1, "outlier": False, "features": [0.5, 2.0]}


EPISODES = """{ datasets { edges { node { options episodes { edges { node { index
  metrics { smoothness overallGrade flags values } } } } } } } }"""


async def test_dataset_and_analysis_documents_written_before_the_models_read(client, runtime, tiny_dataset):
    dataset_id = await register(runtime, tiny_dataset)
    raw = text("SELECT options, features FROM dataset WHERE id = :id").columns(
        options=JSONType, features=JSONType
    )
    async with runtime.sessions() as db:
        options, features = (await db.execute(raw, {"id": dataset_id})).one()
    assert options == {}  # the HDF5 format has no options: a typed write stores them as before
    assert features == {"observation.state": {"dtype": "float32", "shape": [7]}}  # info.json's, as given
    # Options as another format dumps its model (snake_case keys, nulls kept); features of any JSON.
    old_options = {"fps": 25.0, "joint_names": None, "gripper_indexes": [6, 13], "jpeg_swap_red_blue": True}
    old_features = {
        "env_args": {"env_name": "Lift", "env_kwargs": {"control_freq": 20}},
        "total": 30,
        "filter_keys": {"train": ["demo_0"]},
        "sim": True,
        "codec": None,
    }
    async with runtime.sessions() as db, db.begin():
        await write_raw_json(db, "dataset", "options", dataset_id, old_options)
        await write_raw_json(db, "dataset", "features", dataset_id, old_features)
        episodes = await episodes_repo.list_episode_files(db, dataset_id, None)
        job = await jobs_repo.create_job(
            db,
            kind="ANALYSIS",
            status="COMPLETED",
            version=1,
            target=f"dataset:{dataset_id}:analysis:TRAJECTORY_METRICS",
            dataset_id=dataset_id,
        )
        (first, _), (second, _) = episodes[0][:2], episodes[1][:2]
        await results_repo.insert_results(
            db, job.id, "TRAJECTORY_METRICS", {first: AnalysisValues(), second: AnalysisValues()}
        )
        ids = dict((await db.execute(select(EpisodeAnalysisRow.episode_id, EpisodeAnalysisRow.id))).all())
        await write_raw_json(db, "episode_analysis", '"values"', ids[first], FIRST_TRAJECTORY)
        await write_raw_json(db, "episode_analysis", '"values"', ids[second], UNMEASURED)
    async with runtime.sessions() as db:
        row = await db.get(DatasetRow, dataset_id)
        found = await results_repo.latest_results(db, [first, second], "TRAJECTORY_METRICS")
    assert row is not None and (row.options, row.features) == (old_options, old_features)
    assert found[second].as_kind(UnmeasuredEpisode) == UnmeasuredEpisode.model_validate(UNMEASURED)
    body = await gql(client, EPISODES)
    assert "errors" not in body, body
    node = body["data"]["datasets"]["edges"][0]["node"]
    assert node["options"] == old_options
    metrics = {e["node"]["index"]: e["node"]["metrics"] for e in node["episodes"]["edges"]}
    assert metrics[0] == {
        "smoothness": 0.5,
        "overallGrade": 4,
        "flags": ["jittery"],
        "values": FIRST_TRAJECTORY,
    }
    assert metrics[1] is None  # too short to measure


RUN = "mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }"
# The keys each kind's run stored per episode before the models.
RUN_KEYS = {
    "TRAJECTORY_METRICS": {
        "measured",
        "smoothness",
        "efficiency",
        "jitter",
        "hesitation_count",
        "correction_count",
        "path_length",
        "overall_score",
        "flags",
        "mean_speed",
        "max_speed",
        "duration",
        "samples",
    },
    "ANOMALY_DETECTION": {"suggestions"},
    "QUALITY_REPORT": {
        "nan_frames",
        "nan_values",
        "gaps",
        "non_increasing",
        "frame_counts",
        "count_mismatch",
        "frozen_joints",
        "dark_frames",
        "frozen_frames",
        # issue 22: where the camera checks found something, blur, dropped frame times
        "dark_ranges",
        "frozen_ranges",
        "blurred_frames",
        "blurred_ranges",
        "gap_frames",
        "dropped_frames",
    },
    "CLUSTERING": {"cluster", "outlier", "features"},
}


async def test_analysis_runs_store_the_keys_they_always_did(client, runtime, tiny_dataset):
    dataset_id = await register(runtime, tiny_dataset)
    for kind in RUN_KEYS:
        started = await gql(
            client, RUN, input={"datasetId": relay.to_base64("Dataset", dataset_id), "kind": kind}
        )
        assert "errors" not in started, started
        done = await runtime.jobs.wait(
            int(relay.GlobalID.from_id(started["data"]["runAnalysis"]["id"]).node_id)
        )
        assert done.status == "COMPLETED", (kind, done.error_message)
    raw = text('SELECT kind, "values" FROM episode_analysis').columns(values=JSONType)
    async with runtime.sessions() as db:
        stored = (await db.execute(raw)).all()
    assert {kind for kind, _ in stored} == set(RUN_KEYS)
    for kind, values in stored:
        assert set(values) == RUN_KEYS[kind], kind


# episode_edit.edits as saves wrote them (EpisodeEdits.to_json: every key, null when absent).
FIRST_EDITS = {
    "removedFrames": [5],
    "removedRanges": [[10, 12]],
    "trim": {"from": 0, "to": 29},
    "cameras": {
        "front": {
            "crop": {"x": 8, "y": 8, "width": 48, "height": 32},
            "resize": {"width": 96, "height": 64, "filter": "LANCZOS"},
            "brightness": 1.2,
            "contrast": 1.0,
            "saturation": 1.0,
            "rotate": 90,
        },
    },
}
SAVE_EDITS = """mutation($input: SaveEpisodeEditsInput!) { saveEpisodeEdits(input: $input) { version } }"""
EDITS = """query($id: ID!) { node(id: $id) { ... on Episode { edits { version edits { removedFrames removedRanges
  trimFrom trimTo cameras { camera crop { x y width height } resize { width height filter } rotate brightness
  contrast saturation } } } kept: frameUrl(camera: "front", frame: 4, edited: true) } } }"""
REMOVED = """query($id: ID!) { node(id: $id) { ... on Episode { frameUrl(camera: "front", frame: 11, edited: true)
  } } }"""


async def test_edits_saved_before_the_model_read_and_a_save_stores_the_same_keys(
    client, runtime, tiny_dataset
):
    dataset_id = await register(runtime, tiny_dataset)
    async with runtime.sessions() as db:
        (episode_id, *_), *_ = await episodes_repo.list_episode_files(db, dataset_id, None)
    episode = relay.to_base64("Episode", episode_id)
    edits = {
        "removedFrames": [5],
        "removedRanges": [[10, 12]],
        "trimFrom": 0,
        "trimTo": 29,
        "cameras": [
            {
                "camera": "front",
                "crop": {"x": 8, "y": 8, "width": 48, "height": 32},
                "resize": {"width": 96, "height": 64, "filter": "LANCZOS"},
                "brightness": 1.2,
                "rotate": 90,
            }
        ],
    }
    saved = await gql(client, SAVE_EDITS, input={"episodeId": episode, "edits": edits})
    assert "errors" not in saved, saved
    raw = text("SELECT edits FROM episode_edit WHERE episode_id = :id").columns(edits=JSONType)
    async with runtime.sessions() as db:
        assert (await db.execute(raw, {"id": episode_id})).scalar_one() == FIRST_EDITS
        await db.execute(
            text("UPDATE episode_edit SET edits = :value WHERE episode_id = :id").bindparams(
                bindparam("value", type_=JSONType)
            ),
            {"value": FIRST_EDITS, "id": episode_id},
        )
        await db.commit()
        (row,) = await edits_repo.read_edits(db, [episode_id])
    assert row.edits.trim is not None and (row.edits.trim.first, row.edits.trim.last) == (0, 29)
    assert row.edits.stored() == FIRST_EDITS
    body = await gql(client, EDITS, id=episode)
    assert "errors" not in body, body
    found = body["data"]["node"]
    assert found["edits"]["edits"] == {
        "removedFrames": [5],
        "removedRanges": [[10, 12]],
        "trimFrom": 0,
        "trimTo": 29,
        "cameras": [
            {
                "camera": "front",
                "crop": {"x": 8, "y": 8, "width": 48, "height": 32},
                "resize": {"width": 96, "height": 64, "filter": "LANCZOS"},
                "rotate": 90,
                "brightness": 1.2,
                "contrast": 1.0,
                "saturation": 1.0,
            }
        ],
    }
    assert "edits=1" in found["kept"]
    removed = await gql(client, REMOVED, id=episode)
    assert removed["errors"][0]["extensions"]["field"] == "frame"  # frame 11 is in a removed range
    stale = await gql(client, SAVE_EDITS, input={"episodeId": episode, "edits": {}})
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert stale["errors"][0]["extensions"]["current"]["edits"] == found["edits"]["edits"]  # as queried


# annotation_revision.content as the first saves wrote it ("confidence" before its rename to certainty).
FIRST_CONTENT = {
    "rating": "PARTIAL",
    "confidence": 3,
    "completion": 50.0,
    "failure_reason": "dropped the cube",
    "subtask_reached": None,
    "smoothness": 4,
    "efficiency": None,
    "safety": None,
    "precision": None,
    "video_quality": None,
    "sync_issues": False,
    "missing_frames": True,
    "data_notes": None,
    "notes": "second try",
    "anomalies": [
        {
            "type": "DROP",
            "severity": "HIGH",
            "from_frame": 4,
            "to_frame": 9,
            "description": None,
            "auto_detected": False,
            "verified": False,
            "from_time": 0.4,
            "to_time": 0.9,
        }
    ],
}
SAVE_ANNOTATION = """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input)
  { version } }"""


async def test_a_revision_written_before_the_model_reads_and_a_save_stores_the_same_keys(
    client, runtime, tiny_dataset
):
    dataset_id = await register(runtime, tiny_dataset)
    async with runtime.sessions() as db:
        (episode_id, *_), *_ = await episodes_repo.list_episode_files(db, dataset_id, None)
    episode = relay.to_base64("Episode", episode_id)
    draft = {
        "episodeId": episode,
        "taskCompleteness": {
            "rating": "PARTIAL",
            "certainty": 3,
            "completion": 50,
            "failureReason": "dropped the cube",
        },
        "trajectoryQuality": {"smoothness": 4},
        "dataQuality": {"missingFrames": True},
        "anomalies": [{"type": "DROP", "severity": "HIGH", "fromFrame": 4, "toFrame": 9}],
        "notes": "second try",
    }
    saved = await gql(client, SAVE_ANNOTATION, input=draft)
    assert "errors" not in saved, saved
    raw = text("SELECT id, content FROM annotation_revision").columns(content=JSONType)
    async with runtime.sessions() as db:
        revision_id, content = (await db.execute(raw)).one()
    # A save stores every key under today's names, the anomalies with their times (fps 30 here).
    assert set(content) == set(FIRST_CONTENT) - {"confidence"} | {"certainty"}
    assert content["certainty"] == 3 and set(content["anomalies"][0]) == set(FIRST_CONTENT["anomalies"][0])
    async with runtime.sessions() as db, db.begin():
        await write_raw_json(db, "annotation_revision", "content", revision_id, FIRST_CONTENT)
    async with runtime.sessions() as db:
        row = await db.get(AnnotationRevisionRow, revision_id)
    today = {("certainty" if k == "confidence" else k): v for k, v in FIRST_CONTENT.items()}
    assert row is not None and isinstance(row.content, RevisionContent)
    assert (row.content.certainty, row.content.anomalies[0].from_time) == (3, 0.4)
    assert row.content.stored() == today  # read under today's names, nothing added
    blind = await gql(client, SAVE_ANNOTATION, input=draft)  # no expectedVersion: CONFLICT with the current
    assert blind["errors"][0]["extensions"]["code"] == "CONFLICT", blind
    completeness = blind["errors"][0]["extensions"]["current"]["taskCompleteness"]
    assert completeness["certainty"] == completeness["confidence"] == 3  # the old name too


filled = transfer.filled  # a dataset with boxes and an episode annotation (a fixture)


async def test_an_imported_episode_annotation_a_revision_cannot_hold_is_refused_naming_its_key(
    client, runtime, filled
):
    dataset_id, episodes = filled
    _, archive = await transfer.export(client, runtime, datasetId=dataset_id, format="ANNOGRAPH")
    document = json.loads(archive.read("annograph.json"))
    assert document["episodeAnnotations"][0]["content"]["certainty"] is None  # today's names, as saved
    del document["episodeAnnotations"][0]["content"]["rating"]
    await transfer.clear(client, dataset_id)
    await gql(client, "mutation($e: ID!) { deleteEpisodeAnnotation(episodeId: $e) }", e=episodes[0])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in archive.namelist():
            copy.writestr(name, json.dumps(document) if name == "annograph.json" else archive.read(name))
    refused = await transfer.upload(client, dataset_id, "bad.zip", out.getvalue())
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", refused
    assert "episodeAnnotations[0].content.rating: Field required" in refused["errors"][0]["message"]
