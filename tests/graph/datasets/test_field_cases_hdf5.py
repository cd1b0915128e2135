"""Episode folders from other HDF5 writers (tests/field_cases/hdf5, issue 15), registered as they are."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from persistence.episode_sources import SourceError
from persistence.episode_sources import hdf5 as hdf5_source
from tests.conftest import gql
from tests.graph.datasets.test_recording_formats import REGISTER, finished

CASES = Path(__file__).resolve().parents[2] / "field_cases" / "hdf5"
EPISODES = """query($id: ID!) { node(id: $id) { ... on Dataset { episodes { edges { node { index length
  task { index } frameUrl(frame: 3, camera: "front") } } } } } }"""


async def _register(client, runtime, data_root: Path, case: str) -> dict:
    shutil.copytree(CASES / case, data_root / case)
    started = await gql(client, REGISTER, input={"path": case})
    assert "errors" not in started, started
    return await finished(client, runtime, started["data"]["registerDataset"]["id"])


async def test_a_task_index_stored_as_a_one_element_array(client, runtime, data_root):
    job = await _register(client, runtime, data_root, "taskattr_array")
    assert job["status"] == "COMPLETED", job
    body = await gql(client, EPISODES, id=job["dataset"]["id"])
    (episode,) = [e["node"] for e in body["data"]["node"]["episodes"]["edges"]]
    with h5py.File(CASES / "taskattr_array" / "episodes" / "episode_000000.hdf5") as f:
        assert np.asarray(f.attrs["task_index"]).shape == (1,)
        assert episode["task"]["index"] == int(f.attrs["task_index"][0]) == 1


async def test_every_storage_layout_serves_its_frames(client, runtime, data_root):
    """Contiguous, LZF, gzip with shuffle and Blosc (episode 3, through hdf5plugin): the same pictures."""
    job = await _register(client, runtime, data_root, "storage")
    assert job["status"] == "COMPLETED", job
    body = await gql(client, EPISODES, id=job["dataset"]["id"])
    episodes = [e["node"] for e in body["data"]["node"]["episodes"]["edges"]]
    assert [e["index"] for e in episodes] == [0, 1, 2, 3]
    for episode in episodes:
        response = await client.get(episode["frameUrl"] + "&quality=95")
        assert response.status_code == 200, response.text
        shown = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.float64)
        path = CASES / "storage" / "episodes" / f"episode_{episode['index']:06d}.hdf5"
        with h5py.File(path) as f:
            expected = f["observation.images.front"][3].astype(np.float64)
        assert np.abs(shown - expected).mean() < 3


def test_a_filter_no_plugin_reads_is_refused_at_registration(monkeypatch, tmp_path):
    folder = tmp_path / "storage"
    shutil.copytree(CASES / "storage", folder)
    monkeypatch.setattr(hdf5_source.h5py.h5z, "filter_avail", lambda code: code != 32001)
    with pytest.raises(SourceError, match="HDF5 filter 32001") as refused:
        hdf5_source.scan(folder, hdf5_source.Options())
    assert refused.value.path.endswith("episode_000003.hdf5")
    assert refused.value.where == "/observation.images.front"


async def test_a_device_time_maps_to_the_nearest_sample_whatever_their_order(client, runtime, data_root):
    """nonmono: episode 1's frame 10 is stamped 0.85 s, after frame 9's 0.9 s (one late sample)."""
    from tests.graph.validation_session_setup import CREATE, INGEST, START, STOP, event
    from tests.graph.validation_setup import LINK, PROJECT

    job = await _register(client, runtime, data_root, "nonmono")
    assert job["status"] == "COMPLETED", job
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Dataset { episode(index: 1) { id } } } }",
        id=job["dataset"]["id"],
    )
    episode = body["data"]["node"]["episode"]["id"]
    project = (await gql(client, PROJECT, input={"name": "p", "labels": ["cube"]}))["data"]["createProject"][
        "id"
    ]
    await gql(client, LINK, p=project, e=[episode], r="field case")
    session = (
        await gql(
            client,
            CREATE,
            input={
                "projectId": project,
                "name": "device",
                "source": "EXTERNAL",
                "episodeIds": [episode],
                "cameras": ["front"],
            },
        )
    )["data"]["createTestSession"]
    await gql(client, START, id=session["id"])
    sent = await gql(
        client,
        INGEST,
        s=session["id"],
        e=[event(episode, None, "cube", timestamp=0.86), event(episode, None, "cube", timestamp=1.06)],
    )
    assert sent == {"data": {"ingestDetectionEvents": 2}}, sent
    await gql(client, STOP, id=session["id"])
    frames = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on TestSession {
      comparisons { edges { node { frame temporalOffsetMs } } } } } }""",
        id=session["id"],
    )
    found = sorted(
        (e["node"]["frame"], round(e["node"]["temporalOffsetMs"]))
        for e in frames["data"]["node"]["comparisons"]["edges"]
    )
    assert found == [(10, 10), (11, -40)]  # 0.86 s is nearest frame 10 (0.85 s), 1.06 s frame 11 (1.1 s)


async def test_a_camera_shorter_than_its_episode_takes_no_event_beyond_its_frames(client, runtime, data_root):
    """mismatch: episode 0's camera front has 25 frames, its state 30."""
    from tests.graph.validation_session_setup import CREATE, INGEST, START, event
    from tests.graph.validation_setup import LINK, PROJECT

    job = await _register(client, runtime, data_root, "mismatch")
    body = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset { episode(index: 0) { id length
      cameraStreams { name frameCount } } } } }""",
        id=job["dataset"]["id"],
    )
    episode = body["data"]["node"]["episode"]
    assert episode["length"] == 30
    assert {s["name"]: s["frameCount"] for s in episode["cameraStreams"]} == {"front": 25, "side": 30}
    project = (await gql(client, PROJECT, input={"name": "p", "labels": ["cube"]}))["data"]["createProject"][
        "id"
    ]
    await gql(client, LINK, p=project, e=[episode["id"]], r="field case")
    session = (
        await gql(
            client,
            CREATE,
            input={"projectId": project, "name": "d", "source": "EXTERNAL", "episodeIds": [episode["id"]]},
        )
    )["data"]["createTestSession"]
    await gql(client, START, id=session["id"])
    refused = await gql(client, INGEST, s=session["id"], e=[event(episode["id"], 27, "cube")])
    assert refused["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "events[0].frame"}
    assert "has 25 frames" in refused["errors"][0]["message"]
    side = dict(event(episode["id"], 27, "cube"), camera="side")
    assert (await gql(client, INGEST, s=session["id"], e=[side])) == {"data": {"ingestDetectionEvents": 1}}


async def test_an_export_of_an_episode_with_a_short_camera_is_refused_naming_it(client, runtime, data_root):
    job = await _register(client, runtime, data_root, "mismatch")
    export = "mutation($input: ExportEpisodesInput!) { exportEpisodes(input: $input) { id } }"
    body = await gql(client, export, input={"datasetId": job["dataset"]["id"], "episodes": [{"index": 0}]})
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.episodes[0].index"}
    assert "camera 'front' has 25" in error["message"]
    fine = await gql(client, export, input={"datasetId": job["dataset"]["id"], "episodes": [{"index": 1}]})
    assert "errors" not in fine, fine


ANALYSED = """query($id: ID!, $order: EpisodeOrder) { node(id: $id) { ... on Dataset {
  episodes(orderBy: $order) { edges { node { index length overallGrade cluster
    metrics { overallGrade hesitationCount smoothness values } } } } } } }"""


async def _analyse(client, runtime, dataset: str, kind: str, **parameters) -> dict:
    from tests.graph.analysis.test_analysis import RUN, job_id
    from tests.graph.datasets.test_recording_formats import JOB

    started = await gql(client, RUN, input={"datasetId": dataset, "kind": kind, "parameters": parameters})
    assert "errors" not in started, started
    await runtime.jobs.wait(job_id(started["data"]["runAnalysis"]["id"]))
    done = (await gql(client, JOB, id=started["data"]["runAnalysis"]["id"]))["data"]["node"]
    assert done["status"] == "COMPLETED", done
    return done["summary"]


async def _ordered(client, dataset: str, order: str) -> list[dict]:
    body = await gql(client, ANALYSED, id=dataset, order=order)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["node"]["episodes"]["edges"]]


async def test_an_empty_episode_has_no_metrics_and_sorts_last(client, runtime, data_root):
    """zerolen: episode 0 has no samples beside episodes of 20 and 25. It got perfect metrics, grade 3,
    and sorted as the best (worst-first: grades 1-2 around it) episode; it has no metrics and sorts last."""
    job = await _register(client, runtime, data_root, "zerolen")
    assert job["status"] == "COMPLETED", job
    dataset = job["dataset"]["id"]
    summary = await _analyse(client, runtime, dataset, "TRAJECTORY_METRICS")
    assert summary["episodes"] == 3 and summary["unmeasured"] == 1 and summary["unmeasuredEpisodes"] == [0]
    by_grade = await _ordered(client, dataset, "OVERALL_GRADE")
    assert [e["index"] for e in by_grade][-1] == 0
    empty = by_grade[-1]
    assert empty["length"] == 0 and empty["metrics"] is None and empty["overallGrade"] is None
    measured = by_grade[:-1]
    assert all(e["metrics"] is not None and 1 <= e["overallGrade"] <= 5 for e in measured)
    assert [e["overallGrade"] for e in measured] == sorted(e["overallGrade"] for e in measured)
    assert summary["meanScore"] == sum(e["overallGrade"] for e in measured) / 2  # its stored key
    # CLUSTERING compares the metrics too: an episode without them is in no cluster.
    clusters = await _analyse(client, runtime, dataset, "CLUSTERING")
    assert clusters["unmeasured"] == [0]
    placed = {e["index"]: e["cluster"] for e in await _ordered(client, dataset, "INDEX")}
    assert placed[0] is None and placed[1] is not None and placed[2] is not None
    # The other analyses take the empty episode in their stride.
    assert (await _analyse(client, runtime, dataset, "ANOMALY_DETECTION"))["episodes"] == 3
    assert (await _analyse(client, runtime, dataset, "QUALITY_REPORT"))["episodes"] == 3
