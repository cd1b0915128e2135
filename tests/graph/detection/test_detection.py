"""detectObjects and MODEL test sessions through the graph, with a real Ultralytics model built offline."""

from __future__ import annotations

import asyncio
import base64
import sys

from tests.conftest import gql, register
from tests.factories import write_dataset
from tests.graph.model_setup import IMGSZ
from tests.graph.objects_setup import labelled_dataset
from tests.graph.validation_session_setup import CREATE, SESSION, START, STOP
from tests.graph.validation_setup import ground_truth, project_with_episodes

DETECT = "mutation($input: DetectObjectsInput!) { detectObjects(input: $input) { id kind status } }"
JOB = "query($id: ID!) { node(id: $id) { ... on Job { status summary errorMessage progress message } } }"
BOXES = """query($id: ID!) { node(id: $id) { ... on Episode { objects(source: MODEL, first: 200) { totalCount
  edges { node { frame camera trackId source score review label { name } box { x y width height } } } } } } }"""
JOBS = "{ jobs { totalCount } }"


def number(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def finished(client, runtime, job: str) -> dict:
    await runtime.jobs.wait(number(job))
    return (await gql(client, JOB, id=job))["data"]["node"]


async def test_detections_become_model_boxes_with_their_own_tracks(client, runtime, tiny_dataset, models):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    started = await gql(
        client,
        DETECT,
        input={
            "episodeId": episodes[0],
            "camera": "front",
            "model": "confident.pt",
            "frames": [0, 1, 2],
            "classMap": {"person": "pedestrian"},
            "imageSize": IMGSZ,
        },
    )
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["detectObjects"]["id"])
    assert job["status"] == "COMPLETED", job
    assert job["message"] == "3/3 frames" and job["progress"] == 1.0
    summary = job["summary"]
    assert summary["frames"] == 3 and summary["boxes"] > 0
    assert summary["dropped"].get("car", 0) > 0 and summary["droppedTotal"] == sum(
        summary["dropped"].values()
    )
    found = (await gql(client, BOXES, id=episodes[0]))["data"]["node"]["objects"]
    boxes = [e["node"] for e in found["edges"]]
    assert found["totalCount"] == summary["boxes"] == len(boxes)
    assert {b["frame"] for b in boxes} <= {0, 1, 2} and {b["label"]["name"] for b in boxes} == {"pedestrian"}
    assert all(b["source"] == "MODEL" and b["review"] == "PENDING" and 0.25 <= b["score"] <= 1 for b in boxes)
    assert len({b["trackId"] for b in boxes}) == len(boxes)  # one track each
    assert all(b["box"]["x"] >= 0 and b["box"]["x"] + b["box"]["width"] <= 64 + 1e-6 for b in boxes)


async def test_bad_detection_requests_are_refused_before_any_job(client, runtime, tiny_dataset, models):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    before = (await gql(client, JOBS))["data"]["jobs"]["totalCount"]
    base = {"episodeId": episodes[0], "camera": "front", "model": "confident.pt"}
    cases = [
        (base | {"model": "missing.pt"}, "input.model", "confident.pt"),  # lists what the folder holds
        (base | {"model": "../confident.pt"}, "input.model", ".."),
        (base | {"model": "/etc/passwd"}, "input.model", "absolute"),
        (base | {"camera": "side"}, "input.camera", "side"),
        (base | {"frames": [0, 40]}, "input.frames", "40"),
        (base | {"frames": [0], "frameStride": 2}, "input.frames", "not both"),
        (base | {"scoreThreshold": 2.0}, "input.scoreThreshold", "2.0"),
        (
            base | {"confidence": 2.0},
            "input.scoreThreshold",
            "2.0",
        ),  # the deprecated name, checked as the new
        (base | {"nmsIou": 0.0}, "input.nmsIou", "0.0"),
        (base | {"scoreThreshold": 0.3, "confidence": 0.4}, "input.scoreThreshold", "deprecated"),
        (base | {"classMap": {"person": 3}}, "input.classMap", "label names"),
    ]
    for value, field, words in cases:
        body = await gql(client, DETECT, input=value)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field, body
        assert words in error["message"], error
    assert (await gql(client, JOBS))["data"]["jobs"]["totalCount"] == before


async def test_without_ultralytics_the_answer_says_how_to_install_it(
    client, runtime, tiny_dataset, models, monkeypatch
):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import ultralytics now fails
    body = await gql(
        client, DETECT, input={"episodeId": episodes[0], "camera": "front", "model": "confident.pt"}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "pip install 'annograph[detect]'" in error["message"]


async def test_a_model_session_detects_evaluates_and_judges(client, runtime, tiny_dataset, models):
    await register(runtime, tiny_dataset)
    project, episodes, _ = await project_with_episodes(
        client, criteria={"minRecall": 0.01, "maxP95LatencyMs": 1e6}
    )
    await ground_truth(client, episodes[0], [(f, "pedestrian", 10, 10, 20, 20) for f in (0, 10, 20, 30)])
    made = await gql(
        client,
        CREATE,
        input={
            "projectId": project,
            "name": "yolo",
            "source": "MODEL",
            "model": "confident.pt",
            "episodeIds": [episodes[0]],
            "frameStride": 10,
            "imageSize": IMGSZ,
            "classMap": {"person": "pedestrian", "car": "vehicle"},
        },
    )
    assert "errors" not in made, made
    session = made["data"]["createTestSession"]
    assert session["framesTotal"] == 4
    started = await gql(client, START, id=session["id"])
    assert "errors" not in started, started
    node = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on TestSession { job { id } } } }", id=session["id"]
    )
    job = await finished(client, runtime, node["data"]["node"]["job"]["id"])
    assert job["status"] == "COMPLETED", job
    done = (await gql(client, SESSION, id=session["id"]))["data"]["node"]
    assert done["status"] == "COMPLETED" and done["framesProcessed"] == 4
    ev = done["evaluation"]
    assert ev["frames"] == 4 and ev["partial"] is False and ev["note"] is None and ev["groundTruthBoxes"] == 4
    assert ev["detections"] > 0 and ev["overall"]["falsePositives"] > 0
    assert ev["latency"]["count"] == 4 and ev["latency"]["p50Ms"] > 0  # the detector's time per frame
    assert done["verdict"]["passed"] == (ev["overall"]["recall"] >= 0.01)
    assert done["all"]["totalCount"] == sum(
        ev["overall"][k] for k in ("truePositives", "falsePositives", "falseNegatives")
    )


async def test_a_model_session_stopped_midway_is_evaluated_on_what_it_processed(
    client, runtime, data_root, models
):
    await register(runtime, write_dataset(data_root / "long", lengths=[400, 400]))
    project, episodes, _ = await project_with_episodes(client)
    made = await gql(
        client,
        CREATE,
        input={
            "projectId": project,
            "name": "long",
            "source": "MODEL",
            "model": "confident.pt",
            "imageSize": IMGSZ,
        },
    )
    session = made["data"]["createTestSession"]["id"]
    await gql(client, START, id=session)
    async with asyncio.timeout(60):
        while True:
            node = (await gql(client, SESSION, id=session))["data"]["node"]
            if node["framesProcessed"] > 0:
                break
            await asyncio.sleep(0.05)
    stopped = await gql(client, STOP, id=session)
    assert stopped["data"]["stopTestSession"]["status"] == "STOPPED", stopped
    done = (await gql(client, SESSION, id=session))["data"]["node"]
    ev = done["evaluation"]
    assert ev["partial"] is True and 0 < ev["frames"] < 800
    assert ev["note"] == f"evaluated on the {ev['frames']} of 800 frames processed"
    job = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on TestSession { job { status } } } }", id=session
    )
    assert job["data"]["node"]["job"]["status"] == "CANCELLED"


async def test_a_model_session_interrupted_by_a_server_stop_is_evaluated_at_the_next_start(
    client, runtime, tiny_dataset, models
):
    from domain.validation.test_sessions import recover_interrupted
    from persistence.repositories import job as jobs_repo
    from persistence.repositories import test_frame as frames_repo
    from persistence.repositories import test_session as sessions_repo

    await register(runtime, tiny_dataset)
    project, episodes, _ = await project_with_episodes(client)
    await ground_truth(client, episodes[0], [(0, "pedestrian", 10, 10, 20, 20)])
    made = await gql(
        client,
        CREATE,
        input={
            "projectId": project,
            "name": "cut short",
            "source": "MODEL",
            "model": "confident.pt",
            "episodeIds": [episodes[0]],
        },
    )
    session_id = number(made["data"]["createTestSession"]["id"])
    # What the previous server left: the session RUNNING, its job failed by the start-up recovery,
    # two frames processed.
    async with runtime.sessions() as session, session.begin():
        job = await jobs_repo.create_job(
            session,
            kind="EVALUATION",
            status="FAILED",
            target=f"test_session:{session_id}",
            version=1,
            parameters={},
            error_message="interrupted: the server stopped",
        )
        await sessions_repo.update_test_session(session, session_id, {"status": "RUNNING", "job_id": job.id})
        await frames_repo.record_frames(
            session,
            session_id,
            [
                {"episode_id": number(episodes[0]), "camera": "front", "frame": f, "fn": int(f == 0)}
                for f in (0, 1)
            ],
        )
    assert await recover_interrupted(runtime) == [session_id]
    done = (await gql(client, SESSION, id=made["data"]["createTestSession"]["id"]))["data"]["node"]
    assert done["status"] == "STOPPED" and done["evaluation"]["partial"] is True
    assert done["evaluation"]["frames"] == 2 and done["evaluation"]["overall"]["falseNegatives"] == 1
    assert await recover_interrupted(runtime) == []
