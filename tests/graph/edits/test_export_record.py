"""The edited-episode export describes what it holds, not its source (issue 15: `info.json` still said
24 episodes and the old image sizes), and carries no server path (HDF5 attributes, info.json, error
messages), which annograph shows to admins only everywhere else."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import h5py
import pytest

from domain.datasets.demo import DemoSpec, write_demo_dataset
from domain.datasets.demo.spec import JOINT_NAMES, TASKS
from tests.conftest import gql, register

SPEC = DemoSpec(episodes=4, min_length=40, max_length=60, width=64, height=48, seed=3, name="demo")
EXPORT = "mutation($input: ExportEpisodesInput!) { exportEpisodes(input: $input) { id } }"
JOB = "query($id: ID!) { node(id: $id) { ... on Job { status summary result artifactUrl errorMessage } } }"
# Front cropped and enlarged on one episode only: the exported front frames differ in size.
CROPPED = {
    "trimFrom": 2,
    "trimTo": 31,
    "removedFrames": [10],
    "cameras": [
        {
            "camera": "front",
            "crop": {"x": 0, "y": 0, "width": 32, "height": 24},
            "resize": {"width": 80, "height": 60},
        }
    ],
}


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "demo"
    write_demo_dataset(folder, SPEC)
    return folder


@pytest.fixture
async def demo(runtime, data_root, demo_folder) -> tuple[str, dict]:
    import shutil

    shutil.copytree(demo_folder, data_root / "demo")
    dataset_id = await register(runtime, data_root / "demo")
    source_info = json.loads((data_root / "demo" / "info.json").read_text())
    return base64.b64encode(f"Dataset:{dataset_id}".encode()).decode(), source_info


async def export(client, runtime, dataset: str, **input_) -> dict:
    started = await gql(client, EXPORT, input={"datasetId": dataset, **input_})
    assert "errors" not in started, started
    job_id = started["data"]["exportEpisodes"]["id"]
    await runtime.jobs.wait(int(base64.b64decode(job_id).decode().split(":")[1]))
    return (await gql(client, JOB, id=job_id))["data"]["node"]


def server_paths(runtime) -> list[str]:
    return [str(runtime.settings.var_dir), *(str(r) for r in runtime.settings.data_roots)]


async def test_info_json_describes_the_exported_episodes(client, runtime, demo):
    dataset, source = demo
    assert source["total_episodes"] == 4  # what the source says, and the export must not repeat
    job = await export(
        client, runtime, dataset, name="picked", episodes=[{"index": 2, "edits": CROPPED}, {"index": 0}]
    )
    assert job["status"] == "COMPLETED", job
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    info = json.loads(archive.read("picked/info.json"))
    with h5py.File(io.BytesIO(archive.read("picked/episodes/episode_000001.hdf5"))) as f:
        whole = f["timestamp"].shape[0]  # episode 0, all its frames
        task_of_second = int(f.attrs["task_index"])
    with h5py.File(io.BytesIO(archive.read("picked/episodes/episode_000000.hdf5"))) as f:
        task_of_first = int(f.attrs["task_index"])
        assert f["observation.images.front"].shape == (29, 60, 80, 3)
    assert info["name"] == "picked" and info["fps"] == SPEC.fps and info["robot_type"] == source["robot_type"]
    assert info["total_episodes"] == 2 and info["total_frames"] == 29 + whole == job["summary"]["frames"]
    assert info["cameras"] == ["front", "side"] and info["joint_names"] == list(JOINT_NAMES)
    used = sorted({task_of_first, task_of_second})
    assert info["tasks"] == [{"index": i, "description": TASKS[i]} for i in used]
    features = info["features"]
    assert features["observation.images.front"] == {
        "dtype": "uint8",
        "shape": [None, None, 3],
    }  # 60x80, 48x64
    assert features["observation.images.side"] == {"dtype": "uint8", "shape": [48, 64, 3]}
    assert features["observation.state"] == {
        "dtype": source["features"]["observation.state"]["dtype"],
        "shape": [7],
        "names": list(JOINT_NAMES),
    }
    assert set(features) == set(source["features"])
    record = info["annograph_export"]
    assert record["source"] == {"dataset": "demo", "datasetId": int(base64.b64decode(dataset).split(b":")[1])}
    assert [(e["index"], e["sourceIndex"], e["frames"], e["cameras"]) for e in record["episodes"]] == [
        (0, 2, 29, {"front": [60, 80], "side": [48, 64]}),
        (1, 0, whole, {"front": [48, 64], "side": [48, 64]}),
    ]
    assert json.loads(archive.read("picked/annotations.json"))["dataset"]["name"] == "picked"


async def test_the_export_carries_no_server_path(client, runtime, demo):
    dataset, _ = demo
    job = await export(client, runtime, dataset, name="paths", episodes=[{"index": 1, "edits": CROPPED}])
    archive = zipfile.ZipFile(io.BytesIO((await client.get(job["artifactUrl"])).content))
    for member in archive.namelist():
        content = archive.read(member)
        for path in server_paths(runtime):
            assert path.encode() not in content, (member, path)
    with h5py.File(io.BytesIO(archive.read("paths/episodes/episode_000000.hdf5"))) as f:
        assert f.attrs["annograph.source"] == "demo episode 1"
    assert not any(p in json.dumps(job) for p in server_paths(runtime))
    as_dataset = await export(
        client, runtime, dataset, name="again", output="DATASET", episodes=[{"index": 1}]
    )
    assert as_dataset["status"] == "COMPLETED" and as_dataset["result"]["path"] == "exports/again"
    taken = await gql(
        client,
        EXPORT,
        input={"datasetId": dataset, "name": "again", "output": "DATASET", "episodes": [{"index": 1}]},
    )
    error = taken["errors"][0]
    assert error["extensions"] == {"code": "CONFLICT", "field": "input.name"}
    assert error["message"] == "input.name: exports/again exists; choose another name"


async def test_a_registration_failure_names_the_export_folder_not_the_server_path(
    client, runtime, demo, monkeypatch
):
    from domain.edits import export as episode_export

    dataset, _ = demo
    original = episode_export.datasets.register_dataset

    async def broken_info(rt, path, name=None):
        (Path(path) / "info.json").write_text("{")  # the exported folder no longer registers
        return await original(rt, path, name)

    monkeypatch.setattr(episode_export.datasets, "register_dataset", broken_info)
    job = await export(client, runtime, dataset, name="broken", output="DATASET", episodes=[{"index": 1}])
    assert job["status"] == "FAILED", job
    assert "exports/broken" in job["errorMessage"] and "info.json" in job["errorMessage"]
    assert not any(p in job["errorMessage"] for p in server_paths(runtime)), job["errorMessage"]
