"""exportEpisodes(format: LEROBOT) through the graph: the tiny HDF5 dataset with edits (a trim, a removed
frame, a crop and resizes) exported as LeRobot v3.0, registered again (output DATASET) and read back
through annograph's LeRobot reader: arrays identical to the source's kept frames, frames within the
codec bound of the edited source frames, timestamps from 0 in every episode; the annotations that
travel (meta/episodes columns, subtask_index per frame through the edits, the subtasks and anomalies
tables, the corrected task text); selection by the episode filter with saved edits, as a ZIP.

The codec bound is test_lerobot_writer.py's: a frame's mean absolute error is at most the yuv420p round
trip's own plus CODEC_LOSS levels."""

from __future__ import annotations

import io
import json
import zipfile

import av
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from domain.edits import CameraEdit, Crop, Resize, apply_camera_edit
from domain.edits.lerobot_export import default_codec
from domain.edits.sources import open_source
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from tests.conftest import gql, http_client, make_user, register
from tests.graph.datasets.test_recording_formats import register_sample
from tests.graph.edits.test_episode_edits import EXPORT, JOB, number

CODEC_LOSS = 3.0
LABEL = "mutation($input: CreateSegmentLabelInput!) { createSegmentLabel(input: $input) { id } }"
SEGMENT = "mutation($input: CreateEpisodeSegmentInput!) { createEpisodeSegment(input: $input) { id } }"
ANNOTATE = (
    "mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) { version } }"
)
TASK = "mutation($input: CorrectEpisodeTaskTextInput!) { correctEpisodeTaskText(input: $input) { version } }"
SAVE = "mutation($input: SaveEpisodeEditsInput!) { saveEpisodeEdits(input: $input) { version } }"
# Episode 0 (40 frames, front camera 48 x 64): frames 0..29 without 5, cropped and doubled to 64 x 96.
EDITS_0 = {
    "removedFrames": [5],
    "trimFrom": 0,
    "trimTo": 29,
    "cameras": [
        {
            "camera": "front",
            "crop": {"x": 8, "y": 8, "width": 48, "height": 32},
            "resize": {"width": 96, "height": 64, "filter": "BILINEAR"},
        }
    ],
}
CAMERA_0 = CameraEdit(crop=Crop(8, 8, 48, 32), resize=Resize(96, 64))
KEPT_0 = [f for f in range(30) if f != 5]
# Episode 2 (60 frames): every frame, resized to the same 64 x 96.
EDITS_2 = {"cameras": [{"camera": "front", "resize": {"width": 96, "height": 64, "filter": "BILINEAR"}}]}
CAMERA_2 = CameraEdit(resize=Resize(96, 64))


def ok(body: dict) -> dict:
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
async def world(app, client, runtime, tiny_dataset):
    """The tiny dataset annotated: on episode 0, anna and ben agree on "reach" (0..14 and 1..15) and on
    "grasp" 16..29 ("grasp the cube"), both rate it SUCCESS (smoothness 4 and 2), anna marks a JITTER
    over 4..9, and its task text is corrected; on episode 2 only anna marks "reach" 10..20."""
    await register(runtime, tiny_dataset)
    body = await gql(client, "{ datasets { edges { node { id episodes { edges { node { id } } } } } } }")
    node = body["data"]["datasets"]["edges"][0]["node"]
    dataset, episodes = node["id"], [e["node"]["id"] for e in node["episodes"]["edges"]]
    labels = {
        name: ok(await gql(client, LABEL, input={"datasetId": dataset, "name": name}))["createSegmentLabel"][
            "id"
        ]
        for name in ("reach", "grasp")
    }
    async with (
        http_client(app, await make_user(runtime, "anna", "ANNOTATOR")) as anna,
        http_client(app, await make_user(runtime, "ben", "ANNOTATOR")) as ben,
    ):
        marks = [
            (anna, 0, "reach", 0, 14, None),
            (ben, 0, "reach", 1, 15, None),
            (anna, 0, "grasp", 16, 29, "grasp the cube"),
            (ben, 0, "grasp", 16, 29, "grasp the cube"),
            (anna, 2, "reach", 10, 20, "reach slowly"),
        ]
        for who, episode, label, first, last, instruction in marks:
            segment = {
                "episodeId": episodes[episode],
                "labelId": labels[label],
                "fromFrame": first,
                "toFrame": last,
            }
            ok(await gql(who, SEGMENT, input={**segment, "instruction": instruction}))
        for who, smoothness, anomalies in (
            (anna, 4, [{"type": "JITTER", "severity": "LOW", "fromFrame": 4, "toFrame": 9}]),
            (ben, 2, []),
        ):
            annotation = {
                "episodeId": episodes[0],
                "taskCompleteness": {"rating": "SUCCESS"},
                "trajectoryQuality": {"smoothness": smoothness},
                "anomalies": anomalies,
            }
            ok(await gql(who, ANNOTATE, input=annotation))
    ok(await gql(client, TASK, input={"episodeId": episodes[0], "text": "place the red cube"}))
    return dataset, episodes


async def finished(client, runtime, job_id: str) -> dict:
    await runtime.jobs.wait(number(job_id))
    job = (await gql(client, JOB, id=job_id))["data"]["node"]
    assert job["status"] == "COMPLETED", job
    return job


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def format_loss(frame: np.ndarray) -> float:
    picture = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")
    return mae(picture.reformat(format="rgb24").to_ndarray(), frame)


def episodes_table(root) -> list[dict]:
    files = sorted((root / "meta" / "episodes").rglob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


async def test_a_lerobot_export_registers_and_reads_back_with_its_edits_and_annotations(
    client, runtime, world, tiny_dataset
):
    dataset, _ = world
    started = ok(
        await gql(
            client,
            EXPORT,
            input={
                "datasetId": dataset,
                "name": "curated-lerobot",
                "format": "LEROBOT",
                "codec": "H264",
                "output": "DATASET",
                "episodes": [{"index": 0, "edits": EDITS_0}, {"index": 2, "edits": EDITS_2}],
            },
        )
    )
    job = await finished(client, runtime, started["exportEpisodes"]["id"])
    assert job["summary"]["frames"] == len(KEPT_0) + 60 and job["summary"]["episodes"] == 2
    assert job["summary"]["format"] == "LEROBOT" and job["summary"]["codec"] == "H264"
    assert job["result"]["path"] == "exports/curated-lerobot"
    root = runtime.settings.data_roots[0] / "exports" / "curated-lerobot"
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 2
    assert info["features"]["observation.images.front"]["shape"][:2] == [64, 96]

    # Read back through annograph's LeRobot reader (the registered dataset's episodes).
    async with runtime.sessions() as session:
        new = await datasets_repo.read_dataset(session, job["summary"]["datasetId"])
        assert new is not None and new.format == "LEROBOT"
        rows = await episodes_repo.read_episodes_by_indexes(session, [(new.id, 0), (new.id, 1)])
    rows = sorted(rows, key=lambda r: r.index)
    assert [r.length for r in rows] == [len(KEPT_0), 60]
    for row, source, kept, camera in (
        (rows[0], 0, KEPT_0, CAMERA_0),
        (rows[1], 2, list(range(60)), CAMERA_2),
    ):
        with (
            open_source(episode_ref(new, row)) as got,
            h5py.File(tiny_dataset / "episodes" / f"episode_{source:06d}.hdf5") as src,
        ):
            everything = np.arange(len(kept))
            for name in ("observation.state", "action", "observation.gripper"):
                np.testing.assert_array_equal(got.read(name, everything), src[name][:][kept])
            assert got.read("timestamp", everything) == pytest.approx(everything / 30, abs=1e-6)
            frames = got.read("observation.images.front", everything)
            for n, old in enumerate(kept):
                expected = apply_camera_edit(src["observation.images.front"][old], camera)
                assert mae(frames[n], expected) <= format_loss(expected) + CODEC_LOSS, (source, n)

    # Annotations: meta/episodes columns, subtask_index through the edits, subtasks and anomalies.
    first, second = episodes_table(root)
    assert first["tasks"] == ["place the red cube"] and second["tasks"] == ["pick the cube"]
    assert first["task_corrected"] is True and first["task_original"] == "pick the cube"
    assert (first["consensus_rating"], first["rating_agreement"], first["annotators"]) == ("SUCCESS", 1.0, 2)
    assert first["grade_smoothness"] == 3.0 and first["grade_safety"] is None
    assert first["source_episode_index"] == 0 and second["source_episode_index"] == 2
    assert second["consensus_rating"] is None and second["annotators"] == 0
    subtasks = pq.read_table(root / "meta" / "subtasks.parquet").to_pylist()
    named = {r["subtask_index"]: (r["label"], r["instruction"]) for r in subtasks}
    index_of = {v: k for k, v in named.items()}
    reach, reach_slowly = index_of[("reach", None)], index_of[("reach", "reach slowly")]
    grasp = index_of[("grasp", "grasp the cube")]
    rows_of = [r for f in sorted((root / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    ep0 = [r for r in rows_of if r["episode_index"] == 0]
    ep1 = [r for r in rows_of if r["episode_index"] == 1]
    none = index_of[("", None)]
    # Agreed reach: medians 0.5 -> 1 and 14.5 -> 15 (rounded half up); source 1..15 without 5 = new 1..14.
    assert [r["subtask_index"] for r in ep0] == [none] + [reach] * 14 + [grasp] * 14
    assert [r["subtask_index"] for r in ep1] == [none] * 10 + [reach_slowly] * 11 + [none] * 39
    assert [r["timestamp"] for r in ep0] == pytest.approx(np.arange(len(KEPT_0)) / 30, abs=1e-6)
    assert [r["timestamp"] for r in ep1] == pytest.approx(np.arange(60) / 30, abs=1e-6)
    anomalies = pq.read_table(root / "meta" / "anomalies.parquet").to_pylist()
    # JITTER over 4..9 lost frame 5: new frames 4..8.
    assert [(a["episode_index"], a["from_frame"], a["to_frame"], a["type"]) for a in anomalies] == [
        (0, 4, 8, "JITTER")
    ]


async def test_a_selection_by_filter_with_saved_edits_exports_as_a_zip(client, runtime, world):
    dataset, episodes = world
    ok(await gql(client, SAVE, input={"episodeId": episodes[0], "edits": EDITS_0}))
    started = ok(
        await gql(
            client,
            EXPORT,
            input={
                "datasetId": dataset,
                "name": "successes",
                "format": "LEROBOT",
                "selection": {"filter": {"rating": "SUCCESS", "minAgreement": 1.0}},
            },
        )
    )
    job = await finished(client, runtime, started["exportEpisodes"]["id"])
    assert job["summary"]["episodes"] == 1 and job["summary"]["frames"] == len(KEPT_0)
    assert job["summary"]["codec"] == default_codec().name
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    names = set(archive.namelist())
    assert {"successes/meta/info.json", "successes/meta/tasks.parquet", "successes/meta/stats.json"} <= names
    info = json.loads(archive.read("successes/meta/info.json"))
    assert info["features"]["observation.images.front"]["shape"][:2] == [64, 96]
    episodes_file = next(n for n in names if n.startswith("successes/meta/episodes/"))
    (row,) = pq.read_table(io.BytesIO(archive.read(episodes_file))).to_pylist()
    assert row["source_episode_index"] == 0 and row["length"] == len(KEPT_0)


async def test_bad_lerobot_exports_name_the_field(client, runtime, world):
    dataset, _ = world
    cases = [
        # Episode 2 keeps the source's 48 x 64 frames: one video feature has one size.
        ({"episodes": [{"index": 0, "edits": EDITS_0}, {"index": 2}]}, "input.episodes[1].edits"),
        ({"selection": {"filter": {"rating": "FAILURE"}}}, "input.selection"),
        ({"episodes": [{"index": 0}], "selection": {"filter": {}}}, "input.episodes"),
    ]
    for given, field in cases:
        body = await gql(client, EXPORT, input={"datasetId": dataset, "format": "LEROBOT", **given})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field, body


@pytest.mark.parametrize("sample", ["aloha_sim_insertion", "robomimic_lift", "rosbag2_mcap"])
async def test_a_recording_format_exports_to_lerobot_the_same_way(client, runtime, data_root, sample):
    """An ALOHA, robomimic or ROS bag sample, episode 0 trimmed to 2..11 without frame 4 and episode 1 whole,
    reads back with the source reader's arrays at the kept frames and its frames within the codec bound."""
    registered, _ = await register_sample(client, runtime, data_root, sample)
    kept = [f for f in range(2, 12) if f != 4]
    started = ok(
        await gql(
            client,
            EXPORT,
            input={
                "datasetId": registered["dataset"]["id"],
                "name": f"{sample}-lerobot",
                "format": "LEROBOT",
                "codec": "H264",
                "output": "DATASET",
                "episodes": [
                    {"index": 0, "edits": {"trimFrom": 2, "trimTo": 11, "removedFrames": [4]}},
                    {"index": 1},
                ],
            },
        )
    )
    job = await finished(client, runtime, started["exportEpisodes"]["id"])
    async with runtime.sessions() as session:
        source = await datasets_repo.read_dataset(session, number(registered["dataset"]["id"]))
        new = await datasets_repo.read_dataset(session, job["summary"]["datasetId"])
        assert source is not None and new is not None and new.format == "LEROBOT"
        olds = await episodes_repo.read_episodes_by_indexes(session, [(source.id, 0), (source.id, 1)])
        news = await episodes_repo.read_episodes_by_indexes(session, [(new.id, 0), (new.id, 1)])
    olds, news = sorted(olds, key=lambda r: r.index), sorted(news, key=lambda r: r.index)
    for old_row, new_row, frames in (
        (olds[0], news[0], kept),
        (olds[1], news[1], list(range(olds[1].length))),
    ):
        assert new_row.length == len(frames)
        with open_source(episode_ref(source, old_row)) as src, open_source(episode_ref(new, new_row)) as got:
            everything, chosen = np.arange(len(frames)), np.asarray(frames)
            assert got.read("timestamp", everything) == pytest.approx(everything / new.fps, abs=1e-6)
            arrays = [n for n in got.layout.per_frame if not n.startswith("observation.images.")]
            shared = [n for n in arrays if n in src.layout.per_frame and n not in ("timestamp", "task_index")]
            assert "observation.state" in shared and "action" in shared
            for name in shared:
                np.testing.assert_allclose(got.read(name, everything), src.read(name, chosen), rtol=1e-6)
            for camera in src.layout.cameras:
                name = f"observation.images.{camera}"
                for n, expected in zip(everything, src.read(name, chosen), strict=True):
                    frame = got.read(name, np.asarray([n]))[0]
                    assert mae(frame, expected) <= format_loss(expected) + CODEC_LOSS, (sample, camera, n)
