"""Real recordings through the whole graph: each sample in tests/samples (written by its format's own
writer) registers with its format detected, serves frames and trajectories, runs an analysis, takes
boxes and exports COCO with images and an edited HDF5 episode; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from persistence.episode_sources import SourceRef
from persistence.episode_sources.readers import EpisodeReaders
from tests.conftest import gql

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
REGISTER = """mutation($input: RegisterDatasetInput!) { registerDataset(input: $input) { id } }"""
JOB = """query($id: ID!) { node(id: $id) { ... on Job { status errorCode errorMessage summary artifactUrl
  dataset { id } } } }"""
DATASET = """query($id: ID!, $camera: String!) { node(id: $id) { ... on Dataset { name format formatVersion fps cameras jointNames
  clock episodeCount frameCount tasks { index description } unmapped: mapping(unmapped: true) { source shape dtype }
  mapping { source target }
  episodes(first: 20) { edges { node { id index length duration missingData cameraStreams { name frameCount height width }
    tasks { description }
    frameUrl(frame: 2, camera: $camera)
    trajectory(stride: 1) { frames timestamps jointNames jointPositions gripper actions taskIndexes missing } } } } } } }"""

# sample, what to register (relative to the sample copy), format, episode lengths, cameras, joints, tasks
CASES = {
    "lerobot_v30_sample": ("", "LEROBOT", [30, 40, 25], ["front", "wrist"], 7, 2),
    "lerobot_v21_sample": ("", "LEROBOT", [30, 40, 25], ["front", "wrist"], 7, 2),
    "aloha_sim_insertion": ("", "ALOHA", [16, 16, 16], ["top"], 14, 0),
    "robomimic_lift": ("image.hdf5", "ROBOMIMIC", [45, 52, 38], ["agentview", "robot0_eye_in_hand"], 7, 1),
    "rosbag2_mcap": ("", "ROSBAG", None, ["front", "wrist"], None, 1),
}


def job_number(job_id: str) -> int:
    return int(base64.b64decode(job_id).decode().split(":")[1])


async def finished(client, runtime, job_id: str) -> dict:
    await runtime.jobs.wait(job_number(job_id))
    return (await gql(client, JOB, id=job_id))["data"]["node"]


async def register_sample(client, runtime, data_root: Path, sample: str) -> tuple[dict, Path]:
    target = data_root / sample
    shutil.copytree(SAMPLES / sample, target)
    path = target / CASES[sample][0] if CASES[sample][0] else target
    started = await gql(client, REGISTER, input={"path": str(path)})
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["registerDataset"]["id"])
    assert job["status"] == "COMPLETED", job
    return job, path


@pytest.mark.parametrize("sample", list(CASES))
async def test_a_sample_works_end_to_end(client, runtime, data_root, sample):
    _, format, lengths, cameras, joints, tasks = CASES[sample]
    job, path = await register_sample(client, runtime, data_root, sample)
    summary = job["summary"]
    assert summary["format"] == format and summary["episodes"] >= 2
    assert all(m["target"] is None for m in summary["unmapped"])  # what was left out is said

    camera = cameras[0]
    body = await gql(client, DATASET, id=job["dataset"]["id"], camera=camera)
    assert "errors" not in body, body
    dataset = body["data"]["node"]
    assert dataset["format"] == format and dataset["cameras"] == cameras
    assert {m["source"] for m in dataset["unmapped"]} == {m["source"] for m in summary["unmapped"]}
    assert any(m["target"] == "observation.state" for m in dataset["mapping"])
    assert len(dataset["tasks"]) == tasks or (tasks and len(dataset["tasks"]) >= tasks)
    if format == "LEROBOT":
        assert dataset["formatVersion"] == sample.split("_")[1].replace("v3", "v3.").replace("v2", "v2.")
    if format == "ROSBAG":
        assert dataset["clock"]
    episodes = [e["node"] for e in dataset["episodes"]["edges"]]
    assert [e["index"] for e in episodes] == sorted(e["index"] for e in episodes)
    if lengths is not None:
        assert [e["length"] for e in episodes] == lengths
    assert dataset["frameCount"] == sum(e["length"] for e in episodes)

    readers = EpisodeReaders(4)
    rows = await _rows(runtime, job["dataset"]["id"])
    try:
        for episode in episodes:
            row = rows[episode["index"]]
            ref = SourceRef(format, str(path), row.file, row.locator)
            trajectory = episode["trajectory"]
            assert len(trajectory["frames"]) == episode["length"]
            assert len(trajectory["timestamps"]) == episode["length"] and trajectory["timestamps"][0] == 0
            assert np.all(np.diff(trajectory["timestamps"]) > 0)
            positions = np.asarray(trajectory["jointPositions"], dtype=np.float64)
            if joints is not None:
                assert (
                    positions.shape == (joints, episode["length"]) and len(trajectory["jointNames"]) == joints
                )
            state = readers.read_arrays(ref, ["observation.state"], slice(None))["observation.state"]
            assert np.allclose(positions, np.asarray(state, dtype=np.float64).T, atol=1e-5)
            streams = {s["name"]: s for s in episode["cameraStreams"]}
            assert sorted(streams) == cameras and streams[camera]["frameCount"] == episode["length"]

            # The frame served is the reader's picture for that frame (JPEG's loss only).
            response = await client.get(episode["frameUrl"] + "&quality=95")
            assert response.status_code == 200, response.text
            shown = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.float64)
            expected = readers.read_frame(ref, camera, 2).astype(np.float64)
            assert shown.shape == expected.shape == (streams[camera]["height"], streams[camera]["width"], 3)
            assert np.abs(shown - expected).mean() < 3
    finally:
        readers.close()

    await _analysis_runs(client, runtime, job["dataset"]["id"], len(episodes))
    await _annotation_times(client, episodes[-1])
    await _boxes_export_coco(client, runtime, job["dataset"]["id"], episodes[0], camera)
    await _edited_export(client, runtime, job["dataset"]["id"], episodes[0], cameras)
    await _detection(client, runtime, episodes[0], camera)


async def _annotation_times(client, episode: dict) -> None:
    """Anomaly times come from the episode's own timestamps, whatever the format."""
    save = """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) {
      anomalies { fromFrame toFrame fromTime toTime } } }"""
    last = episode["length"] - 1
    saved = await gql(
        client,
        save,
        input={
            "episodeId": episode["id"],
            "taskCompleteness": {"rating": "SUCCESS"},
            "anomalies": [
                {"type": "DROP", "severity": "LOW", "fromFrame": 1, "toFrame": last, "description": "x"}
            ],
        },
    )
    assert "errors" not in saved, saved
    (anomaly,) = saved["data"]["saveEpisodeAnnotation"]["anomalies"]
    times = episode["trajectory"]["timestamps"]
    assert anomaly["fromTime"] == pytest.approx(times[1], abs=1e-4)
    assert anomaly["toTime"] == pytest.approx(times[last], abs=1e-4)


async def _detection(client, runtime, episode: dict, camera: str) -> None:
    """Ultralytics runs on the episode's frames in the worker pool (an untrained model, built offline)."""
    detect = "mutation($input: DetectObjectsInput!) { detectObjects(input: $input) { id } }"
    started = await gql(
        client,
        detect,
        input={
            "episodeId": episode["id"],
            "camera": camera,
            "model": "yolo11n.yaml",
            "frames": [0, 1],
            "imageSize": 64,
        },
    )
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["detectObjects"]["id"])
    assert job["status"] == "COMPLETED" and job["summary"]["frames"] == 2, job


async def _rows(runtime, dataset_id: str) -> dict:
    from persistence.repositories import episode as episodes_repo

    number = int(base64.b64decode(dataset_id).decode().split(":")[1])
    async with runtime.sessions() as session:
        return {r.index: r for r in await episodes_repo.list_episodes_of(session, number)}


async def _analysis_runs(client, runtime, dataset_id: str, count: int) -> None:
    run = "mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }"
    for kind in ("QUALITY_REPORT", "TRAJECTORY_METRICS"):
        started = await gql(client, run, input={"datasetId": dataset_id, "kind": kind})
        assert "errors" not in started, started
        job = await finished(client, runtime, started["data"]["runAnalysis"]["id"])
        assert job["status"] == "COMPLETED", job
    report = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { qualityReport { episodes } } } }",
        id=dataset_id,
    )
    assert report["data"]["node"]["qualityReport"]["episodes"] == count


async def _boxes_export_coco(client, runtime, dataset_id: str, episode: dict, camera: str) -> None:
    label = "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id } }"
    assert "errors" not in await gql(client, label, input={"datasetId": dataset_id, "name": "cube"})
    create = """mutation($input: [CreateObjectAnnotationInput!]!) { createObjectAnnotations(input: $input) { id } }"""
    made = await gql(
        client,
        create,
        input=[
            {
                "episodeId": episode["id"],
                "camera": camera,
                "frame": f,
                "label": "cube",
                "box": {"x": 4, "y": 6, "width": 20, "height": 16},
            }
            for f in (0, 2)
        ],
    )
    assert "errors" not in made, made
    export = "mutation($input: ExportAnnotationsInput!) { exportAnnotations(input: $input) { id } }"
    started = await gql(
        client, export, input={"datasetId": dataset_id, "format": "COCO", "includeImages": True}
    )
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["exportAnnotations"]["id"])
    assert job["status"] == "COMPLETED", job
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    import json

    coco = json.loads(archive.read("annotations/instances_default.json"))  # datumaro's and CVAT's layout
    assert len(coco["annotations"]) == 2 and len(coco["images"]) == 2
    for image in coco["images"]:
        picture = Image.open(io.BytesIO(archive.read(f"images/default/{image['file_name']}")))
        assert picture.size == (image["width"], image["height"])


async def _edited_export(client, runtime, dataset_id: str, episode: dict, cameras: list[str]) -> None:
    export = "mutation($input: ExportEpisodesInput!) { exportEpisodes(input: $input) { id } }"
    edits = {"removedFrames": [1], "cameras": [{"camera": cameras[0], "rotate": 90}]}
    started = await gql(
        client,
        export,
        input={
            "datasetId": dataset_id,
            "name": "curated",
            "output": "ZIP",
            "episodes": [{"index": episode["index"], "edits": edits}],
        },
    )
    assert "errors" not in started, started
    saved = await gql(
        client,
        """mutation($input: SaveEpisodeEditsInput!) { saveEpisodeEdits(input: $input) {
      version } }""",
        input={"episodeId": episode["id"], "edits": edits},
    )
    assert "errors" not in saved, saved
    urls = await gql(
        client,
        """query($id: ID!, $c: String!) { node(id: $id) { ... on Episode {
      edited: frameUrl(frame: 2, camera: $c, edited: true) } } }""",
        id=episode["id"],
        c=cameras[0],
    )
    shown = await client.get(urls["data"]["node"]["edited"])
    assert shown.status_code == 200, shown.text
    stream = next(s for s in episode["cameraStreams"] if s["name"] == cameras[0])
    assert Image.open(io.BytesIO(shown.content)).size == (stream["height"], stream["width"])  # rotated
    job = await finished(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    with h5py.File(io.BytesIO(archive.read("curated/episodes/episode_000000.hdf5"))) as f:
        length = episode["length"] - 1
        assert f["observation.state"].shape[0] == length
        images = f[f"observation.images.{cameras[0]}"]
        stream = next(s for s in episode["cameraStreams"] if s["name"] == cameras[0])
        assert images.shape == (length, stream["width"], stream["height"], 3)  # rotated by 90


async def test_options_are_checked_against_the_format_schema(client, runtime, data_root):
    schemas = await gql(client, "{ datasetFormatSchemas { format schema } }")
    by_format = {s["format"]: s["schema"] for s in schemas["data"]["datasetFormatSchemas"]}
    assert set(by_format) == {"LEROBOT", "HDF5", "ROBOMIMIC", "ALOHA", "ROSBAG", "MCAP"}
    assert by_format["ALOHA"]["properties"]["fps"]["default"] == 50
    assert {"clock_topic", "state_topic", "fps"} <= set(by_format["ROSBAG"]["properties"])

    shutil.copytree(SAMPLES / "aloha_sim_insertion", data_root / "aloha")
    bad = await gql(client, REGISTER, input={"path": "aloha", "options": {"fps": "fast"}})
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.options.fps"}
    unknown = await gql(client, REGISTER, input={"path": "aloha", "options": {"clock_topic": "/x"}})
    assert unknown["errors"][0]["extensions"]["field"] == "input.options.clock_topic"
    wrong = await gql(client, REGISTER, input={"path": "aloha", "format": "LEROBOT"})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "info.json" in wrong["errors"][0]["message"]

    (data_root / "notes").mkdir()
    (data_root / "notes" / "readme.txt").write_text("hello")
    unknown_format = await gql(client, REGISTER, input={"path": "notes"})
    assert "not a dataset of a known format" in unknown_format["errors"][0]["message"]
    assert (await gql(client, "{ jobs { totalCount } }"))["data"]["jobs"]["totalCount"] == 0

    started = await gql(client, REGISTER, input={"path": "aloha", "options": {"fps": 25}})
    job = await finished(client, runtime, started["data"]["registerDataset"]["id"])
    dataset = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { fps options } } }",
        id=job["dataset"]["id"],
    )
    assert dataset["data"]["node"]["fps"] == 25 and dataset["data"]["node"]["options"]["fps"] == 25


async def test_a_file_that_breaks_its_format_fails_naming_the_file_and_path_inside(
    client, runtime, data_root
):
    target = data_root / "aloha"
    shutil.copytree(SAMPLES / "aloha_sim_insertion", target)
    with h5py.File(target / "episode_2.hdf5", "a") as f:  # a group where an array belongs
        del f["observations/qpos"]
        f.create_group("observations/qpos")
    started = await gql(client, REGISTER, input={"path": str(target)})
    job = await finished(client, runtime, started["data"]["registerDataset"]["id"])
    assert job["status"] == "FAILED" and job["errorCode"] == "BAD_USER_INPUT", job
    assert str(target / "episode_2.hdf5") in job["errorMessage"]
    assert "/observations/qpos" in job["errorMessage"]
    assert (await gql(client, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 0


async def test_reregistering_reads_only_changed_files(client, runtime, data_root):
    job, path = await register_sample(client, runtime, data_root, "lerobot_v21_sample")
    assert job["summary"]["changedEpisodes"] == 3
    again = await gql(client, REGISTER, input={"path": str(path)})
    second = await finished(client, runtime, again["data"]["registerDataset"]["id"])
    assert second["status"] == "COMPLETED" and second["summary"]["changedEpisodes"] == 0, second
    assert second["summary"]["episodes"] == 3


async def test_a_frame_the_video_does_not_have_is_refused_not_replaced(client, runtime, data_root):
    job, path = await register_sample(client, runtime, data_root, "lerobot_v21_sample")
    videos = path / "videos" / "chunk-000" / "observation.images.front"
    # Episode 1 has 40 rows; its video now holds only 30 frames (episode 0's).
    shutil.copyfile(videos / "episode_000000.mp4", videos / "episode_000001.mp4")
    query = """query($id: ID!) { node(id: $id) { ... on Dataset { episode(index: 1) {
      last: frameUrl(frame: 35, camera: "front") first: frameUrl(frame: 3, camera: "front") } } } }"""
    urls = (await gql(client, query, id=job["dataset"]["id"]))["data"]["node"]["episode"]
    refused = await client.get(urls["last"])
    assert refused.status_code == 422
    assert "episode_000001.mp4" in refused.text and "no frame within" in refused.text
    assert (await client.get(urls["first"])).status_code == 200


async def test_a_device_validated_on_a_lerobot_episode_by_its_timestamps(client, runtime, data_root):
    """EXTERNAL test session on a LeRobot v3.0 episode: device times map to frames by the episode's own
    timestamps (read through the LeRobot reader), and the evaluation matches the ground truth."""
    from tests.graph.validation_session_setup import CREATE, INGEST, SESSION, START, STOP, event
    from tests.graph.validation_setup import LINK, PROJECT, VALIDATE

    job, _ = await register_sample(client, runtime, data_root, "lerobot_v30_sample")
    dataset_id = job["dataset"]["id"]
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { episode(index: 1) { id } } } }",
        id=dataset_id,
    )
    episode = body["data"]["node"]["episode"]["id"]
    label = "mutation($input: CreateLabelInput!) { createLabel(input: $input) { id } }"
    assert "errors" not in await gql(client, label, input={"datasetId": dataset_id, "name": "cube"})
    create = """mutation($input: [CreateObjectAnnotationInput!]!) { createObjectAnnotations(input: $input) { id } }"""
    made = await gql(
        client,
        create,
        input=[
            {
                "episodeId": episode,
                "camera": "front",
                "frame": f,
                "label": "cube",
                "box": {"x": 10, "y": 10, "width": 20, "height": 20},
            }
            for f in (0, 3)
        ],
    )
    await gql(client, VALIDATE, ids=[b["id"] for b in made["data"]["createObjectAnnotations"]])
    project = (await gql(client, PROJECT, input={"name": "arm", "labels": ["cube"]}))["data"][
        "createProject"
    ]["id"]
    assert "errors" not in await gql(client, LINK, p=project, e=[episode], r="sample")
    session = (
        await gql(
            client,
            CREATE,
            input={
                "projectId": project,
                "name": "cam",
                "source": "EXTERNAL",
                "episodeIds": [episode],
                "cameras": ["front"],
            },
        )
    )["data"]["createTestSession"]
    assert session["framesTotal"] == 40
    await gql(client, START, id=session["id"])
    sent = await gql(
        client,
        INGEST,
        s=session["id"],
        e=[
            event(episode, 0, "cube", (10, 10, 20, 20)),
            event(episode, None, "cube", (10, 10, 20, 20), timestamp=3 / 30 + 0.002),  # frame 3, 2 ms late
        ],
    )
    assert sent == {"data": {"ingestDetectionEvents": 2}}, sent
    await gql(client, STOP, id=session["id"])
    for _ in range(100):
        result = (await gql(client, SESSION, id=session["id"]))["data"]["node"]
        if result["evaluation"] is not None:
            break
        await asyncio.sleep(0.1)
    overall = result["evaluation"]["overall"]
    assert (overall["truePositives"], overall["falsePositives"], overall["falseNegatives"]) == (2, 0, 0)
    offsets = sorted(e["node"]["temporalOffsetMs"] or 0 for e in result["tp"]["edges"])
    assert offsets[-1] == pytest.approx(2.0, abs=0.5)
