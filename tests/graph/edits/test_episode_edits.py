"""Episode edits through the graph: saved and versioned, previewed by frameUrl, exported as HDF5 and read back."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from PIL import Image

from domain.edits import CameraEdit, Crop, Resize, apply_camera_edit
from tests.conftest import gql, register
from tests.graph.objects_setup import CREATE, labelled_dataset

SAVE = """mutation($input: SaveEpisodeEditsInput!) { saveEpisodeEdits(input: $input) { version updatedBy { name }
  edits { removedFrames removedRanges trimFrom trimTo cameras { camera crop { x y width height }
    resize { width height filter } rotate brightness contrast saturation } } } }"""
EXPORT = "mutation($input: ExportEpisodesInput!) { exportEpisodes(input: $input) { id status } }"
JOB = """query($id: ID!) { node(id: $id) { ... on Job { status summary result artifactUrl errorMessage message
  progress } } }"""
EDITS = {
    "removedFrames": [5],
    "trimFrom": 0,
    "trimTo": 29,
    "cameras": [
        {
            "camera": "front",
            "crop": {"x": 8, "y": 8, "width": 48, "height": 32},
            "resize": {"width": 96, "height": 64, "filter": "BILINEAR"},
            "brightness": 1.2,
        }
    ],
}
CAMERA = CameraEdit(crop=Crop(8, 8, 48, 32), resize=Resize(96, 64), brightness=1.2)
KEPT = [f for f in range(30) if f != 5]


def number(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


@pytest.fixture
async def edited(client, runtime, tiny_dataset):
    """(dataset id, episode ids) with boxes on episode 0 at frames 0, 5 and 10 and an annotation."""
    await register(runtime, tiny_dataset)
    dataset, episodes = await labelled_dataset(client)
    boxes = [
        {
            "episodeId": episodes[0],
            "camera": "front",
            "frame": f,
            "label": "pedestrian",
            "box": {"x": 10, "y": 12, "width": 20, "height": 16},
        }
        for f in (0, 5, 10)
    ]
    boxes.append(
        {
            "episodeId": episodes[0],
            "camera": "front",
            "frame": 12,
            "label": "vehicle",
            "box": {"x": 0, "y": 0, "width": 6, "height": 6},
        }
    )  # inside the cropped-away border
    made = await gql(client, CREATE, input=boxes)
    assert "errors" not in made, made
    saved = await gql(
        client,
        """mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input)
      { version } }""",
        input={
            "episodeId": episodes[0],
            "taskCompleteness": {"rating": "SUCCESS"},
            "anomalies": [{"type": "JITTER", "severity": "LOW", "fromFrame": 4, "toFrame": 9}],
        },
    )
    assert "errors" not in saved, saved
    return dataset, episodes


async def test_edits_are_saved_with_versions_and_checked(client, edited):
    _, episodes = edited
    first = await gql(client, SAVE, input={"episodeId": episodes[0], "edits": EDITS})
    assert "errors" not in first, first
    saved = first["data"]["saveEpisodeEdits"]
    assert saved["version"] == 1 and saved["updatedBy"] == {"name": "admin"}
    assert saved["edits"]["removedFrames"] == [5] and saved["edits"]["trimTo"] == 29
    assert saved["edits"]["cameras"][0]["crop"] == {"x": 8, "y": 8, "width": 48, "height": 32}
    blind = await gql(client, SAVE, input={"episodeId": episodes[0], "edits": {"removedFrames": [1]}})
    assert blind["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert blind["errors"][0]["extensions"]["currentVersion"] == 1
    second = await gql(
        client, SAVE, input={"episodeId": episodes[0], "edits": {"removedFrames": [1]}, "expectedVersion": 1}
    )
    assert second["data"]["saveEpisodeEdits"]["version"] == 2
    stale = await gql(client, SAVE, input={"episodeId": episodes[0], "edits": {}, "expectedVersion": 1})
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    cases = [
        (
            {"cameras": [{"camera": "front", "crop": {"x": 40, "y": 0, "width": 40, "height": 10}}]},
            "input.edits.cameras.front.crop",
        ),
        ({"removedFrames": [2, 999]}, "input.edits.removedFrames[1]"),
        ({"cameras": [{"camera": "side"}]}, "input.edits.cameras.side"),
        (
            {"cameras": [{"camera": "front", "resize": {"width": 0, "height": 10}}]},
            "input.edits.cameras.front.resize.width",
        ),
        ({"cameras": [{"camera": "front", "rotate": 45}]}, "input.edits.cameras.front.rotate"),
    ]
    for edits, field in cases:
        body = await gql(client, SAVE, input={"episodeId": episodes[0], "edits": edits, "expectedVersion": 2})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field
    now = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Episode { edits { version } } } }", id=episodes[0]
    )
    assert now["data"]["node"]["edits"] == {"version": 2}


async def test_frame_urls_preview_the_saved_edits(client, edited, tiny_dataset):
    _, episodes = edited
    await gql(client, SAVE, input={"episodeId": episodes[0], "edits": EDITS})
    query = """query($id: ID!, $f: Int!) { node(id: $id) { ... on Episode {
      plain: frameUrl(frame: $f, camera: "front") edited: frameUrl(frame: $f, camera: "front", edited: true) } } }"""
    urls = (await gql(client, query, id=episodes[0], f=3))["data"]["node"]
    assert urls["plain"] != urls["edited"]
    response = await client.get(urls["edited"] + "&quality=95")
    assert response.status_code == 200
    shown = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.float64)
    with h5py.File(tiny_dataset / "episodes" / "episode_000000.hdf5") as f:
        expected = apply_camera_edit(f["observation.images.front"][3], CAMERA).astype(np.float64)
    assert shown.shape == expected.shape == (64, 96, 3)
    assert np.abs(shown - expected).mean() < 4  # JPEG's loss only
    removed = await gql(client, query, id=episodes[0], f=5)
    assert removed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def finished(client, runtime, job_id: str) -> dict:
    await runtime.jobs.wait(number(job_id))
    return (await gql(client, JOB, id=job_id))["data"]["node"]


async def test_an_export_reads_back_as_the_source_with_the_edits_applied(
    client, runtime, edited, tiny_dataset
):
    dataset, _ = edited
    started = await gql(
        client,
        EXPORT,
        input={
            "datasetId": dataset,
            "name": "curated",
            "episodes": [{"index": 0, "edits": EDITS}, {"index": 2}],
        },
    )
    assert "errors" not in started, started
    job = await finished(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED" and job["progress"] == 1.0, job
    assert job["summary"]["frames"] == len(KEPT) + 60 and job["summary"]["episodes"] == 2
    assert job["summary"]["dropped"] == {"on removed frames": 1, "outside the edited image": 1}
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    names = set(archive.namelist())
    assert {
        "curated/info.json",
        "curated/annotations.json",
        "curated/episodes/episode_000000.hdf5",
        "curated/episodes/episode_000001.hdf5",
    } <= names
    out = io.BytesIO(archive.read("curated/episodes/episode_000000.hdf5"))
    with h5py.File(out) as got, h5py.File(tiny_dataset / "episodes" / "episode_000000.hdf5") as src:
        for name in ("timestamp", "observation.state", "action", "observation.gripper"):
            assert got[name].shape[0] == len(KEPT)
            np.testing.assert_array_equal(got[name][:], src[name][:][KEPT])
        images = got["observation.images.front"]
        assert images.shape == (len(KEPT), 64, 96, 3) and images.compression == "gzip"
        assert images.chunks == (1, 64, 96, 3)
        for new, old in ((0, 0), (5, 6), (28, 29)):
            np.testing.assert_array_equal(
                images[new], apply_camera_edit(src["observation.images.front"][old], CAMERA)
            )
        assert json.loads(got.attrs["annograph.edits"])["removedFrames"] == [5]
    with (
        h5py.File(io.BytesIO(archive.read("curated/episodes/episode_000001.hdf5"))) as got,
        h5py.File(tiny_dataset / "episodes" / "episode_000002.hdf5") as src,
    ):
        np.testing.assert_array_equal(got["observation.images.front"][:], src["observation.images.front"][:])
    carried = json.loads(archive.read("curated/annotations.json"))
    boxes = sorted(
        (b["frame"] if "frame" in b else b["fileName"], b["x"], b["y"], b["width"], b["height"])
        for b in carried["boxes"]
    )
    # (10, 12, 20, 16) cropped at (8, 8) -> (2, 4, 20, 16), doubled by the resize; frame 10 is now 9.
    assert [b[1:] for b in boxes] == [(4.0, 8.0, 40.0, 32.0), (4.0, 8.0, 40.0, 32.0)]
    assert sorted(b[0] for b in boxes) == sorted(
        ["episode_000000_front_000000.jpg", "episode_000000_front_000009.jpg"]
    )


async def test_an_export_as_a_dataset_is_registered_with_its_annotations(client, runtime, edited):
    dataset, _ = edited
    started = await gql(
        client,
        EXPORT,
        input={
            "datasetId": dataset,
            "name": "curated-set",
            "output": "DATASET",
            "episodes": [{"index": 0, "edits": EDITS}],
        },
    )
    job = await finished(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job
    assert job["result"]["path"] == "exports/curated-set"  # no server path for viewers to read
    new = base64.b64encode(f"Dataset:{job['summary']['datasetId']}".encode()).decode()
    body = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset { name episodeCount
      episode(index: 0) { length cameras objects { edges { node { frame box { x y width height } } } }
        annotations { anomalies { fromFrame toFrame } } } } } }""",
        id=new,
    )
    node = body["data"]["node"]
    assert node["name"] == "curated-set" and node["episodeCount"] == 1
    episode = node["episode"]
    assert episode["length"] == len(KEPT)
    assert sorted(e["node"]["frame"] for e in episode["objects"]["edges"]) == [0, 9]
    assert episode["objects"]["edges"][0]["node"]["box"] == {
        "x": 4.0,
        "y": 8.0,
        "width": 40.0,
        "height": 32.0,
    }
    # The anomaly over frames 4..9 lost frame 5: it now spans the new frames 4..8.
    assert episode["annotations"][0]["anomalies"] == [{"fromFrame": 4, "toFrame": 8}]
    again = await gql(
        client,
        EXPORT,
        input={"datasetId": dataset, "name": "curated-set", "output": "DATASET", "episodes": [{"index": 0}]},
    )
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_bad_exports_name_the_field_and_start_nothing(client, runtime, edited):
    dataset, _ = edited
    before = (await gql(client, "{ jobs { totalCount } }"))["data"]["jobs"]["totalCount"]
    cases = [
        ([{"index": 0, "edits": {"removedFrames": [40]}}], "input.episodes[0].edits.removedFrames[0]"),
        (
            [
                {"index": 1},
                {
                    "index": 0,
                    "edits": {
                        "cameras": [{"camera": "front", "crop": {"x": 0, "y": 0, "width": 65, "height": 5}}]
                    },
                },
            ],
            "input.episodes[1].edits.cameras.front.crop",
        ),
        ([{"index": 9}], "input.episodes[0].index"),
        ([{"index": 0}, {"index": 0}], "input.episodes[1].index"),
        ([{"index": 0, "useSaved": True}], "input.episodes[0].useSaved"),
        ([], "input.episodes"),
    ]
    for episodes, field in cases:
        body = await gql(client, EXPORT, input={"datasetId": dataset, "episodes": episodes})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == field
    assert (await gql(client, "{ jobs { totalCount } }"))["data"]["jobs"]["totalCount"] == before


async def test_an_export_as_a_dataset_that_fails_leaves_nothing(client, runtime, edited, monkeypatch):
    from domain.core.errors import BadUserInput
    from domain.objects.transfer import imports as annotation_import

    dataset, _ = edited

    async def failing(*args, **kwargs):
        raise BadUserInput("the import step failed")

    monkeypatch.setattr(annotation_import, "import_annotations", failing)
    started = await gql(
        client,
        EXPORT,
        input={"datasetId": dataset, "name": "doomed", "output": "DATASET", "episodes": [{"index": 0}]},
    )
    job = await finished(client, runtime, started["data"]["exportEpisodes"]["id"])
    assert job["status"] == "FAILED" and "import step failed" in job["errorMessage"], job
    assert (await gql(client, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 1
    assert not (runtime.settings.data_roots[0] / "exports" / "doomed").exists()
    monkeypatch.undo()
    again = await gql(
        client,
        EXPORT,
        input={"datasetId": dataset, "name": "doomed", "output": "DATASET", "episodes": [{"index": 0}]},
    )
    assert "errors" not in again, again  # the name is free again
    job = await finished(client, runtime, again["data"]["exportEpisodes"]["id"])
    assert job["status"] == "COMPLETED", job


async def test_an_export_as_a_dataset_cut_short_by_a_stop_is_undone_at_the_next_start(
    client, runtime, edited
):
    from domain.edits.export import undo_interrupted_exports
    from persistence.columns import utcnow
    from persistence.tables import JobRow
    from tests.conftest import register
    from tests.factories import write_dataset

    target = runtime.settings.data_roots[0] / "exports" / "cut"
    async with runtime.sessions() as session, session.begin():
        session.add(
            JobRow(
                kind="EXPORT",
                target="export-episodes:dataset:1",
                version=1,
                status="RUNNING",
                parameters={"output": "DATASET", "name": "cut"},
                started_at=utcnow(),
            )
        )
    write_dataset(target, episodes=1)  # killed after the rename and the registration
    await register(runtime, target)
    assert (await gql(client, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 2
    interrupted = await runtime.jobs.recover()
    assert [j.parameters.stored()["name"] for j in interrupted if j.kind == "EXPORT"] == ["cut"]
    await undo_interrupted_exports(runtime, interrupted)
    assert (await gql(client, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 1
    assert not target.exists()
    assert await runtime.jobs.recover() == []  # nothing left unfinished
