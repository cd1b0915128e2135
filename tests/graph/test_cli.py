"""The annograph command: help, demo, datasets add, clear errors, schema check for serve."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from typer.testing import CliRunner

from graph.cli import app
from persistence.settings import get_settings
from tests.factories import write_dataset
from tests.graph.datasets.test_recording_formats import SAMPLES

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, data_root):
    monkeypatch.setenv("ANNOGRAPH_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ANNOGRAPH_DATABASE_URL", database_url)
    monkeypatch.setenv("ANNOGRAPH_DATA_ROOTS", str(data_root))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["demo"], ["datasets", "add"], ["schema"]])
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_datasets_add_with_progress_and_errors(env, data_root, monkeypatch):
    folder = write_dataset(data_root / "cli", episodes=2)
    result = runner.invoke(app, ["datasets", "add", str(folder)])
    assert result.exit_code == 0, result.output
    assert "registered HDF5 dataset 1: 2 episodes, 90 frames (job v1)" in result.output
    assert result.output.startswith("indexing")  # the progress bar

    monkeypatch.chdir(data_root)  # a relative path is taken from the current folder
    again = runner.invoke(app, ["datasets", "add", "cli"])
    assert again.exit_code == 0 and "(job v2)" in again.output

    outside = runner.invoke(app, ["datasets", "add", "/etc"])
    assert outside.exit_code == 1 and "outside the data roots" in outside.output

    (folder / "episodes" / "episode_000001.hdf5").write_bytes(b"junk")
    broken = runner.invoke(app, ["datasets", "add", str(folder)])
    assert broken.exit_code == 1
    unwrapped = broken.output.replace("\n", "")  # rich wraps long paths at the terminal's width
    assert "failed" in broken.output and "episode_000001.hdf5" in unwrapped


def test_datasets_add_reads_other_formats_with_options(env, data_root, monkeypatch):
    shutil.copytree(SAMPLES / "aloha_sim_insertion", data_root / "aloha")
    monkeypatch.chdir(data_root)  # relative paths below: from the current folder
    result = runner.invoke(app, ["datasets", "add", "aloha", "-o", "fps=25"])
    assert result.exit_code == 0, result.output
    assert "registered ALOHA dataset 1: 3 episodes, 48 frames" in result.output
    assert "unmapped: " in result.output  # what the format holds beyond the episode model is named
    rows = asyncio.run(_datasets())
    assert rows[0].fps == 25.0 and rows[0].options["fps"] == 25.0

    single = runner.invoke(app, ["datasets", "add", "aloha/episode_1.hdf5", "--format", "aloha"])
    assert single.exit_code == 0 and "1 episodes, 16 frames" in single.output, single.output

    bad = runner.invoke(app, ["datasets", "add", "aloha", "-o", "fps=-1"])
    assert bad.exit_code == 1 and "--option.fps" in bad.output
    unknown = runner.invoke(app, ["datasets", "add", "aloha", "-o", "clock_topic=/x"])
    assert unknown.exit_code == 1 and "--option.clock_topic" in unknown.output
    malformed = runner.invoke(app, ["datasets", "add", "aloha", "-o", "fps"])
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.output

    formats = runner.invoke(app, ["datasets", "formats"])
    assert formats.exit_code == 0 and "ALOHA" in formats.output and "fps" in formats.output


async def _datasets():
    from domain.core.runtime import Runtime
    from domain.datasets.service import list_datasets

    rt = Runtime.build(get_settings())
    try:
        return await list_datasets(rt, after_id=None, limit=10)
    finally:
        await rt.engine.dispose()


def test_demo_writes_and_registers_once(env, data_root):
    result = runner.invoke(app, ["demo", "--episodes", "2", "--street-episodes", "1"])
    assert result.exit_code == 0, result.output
    assert "registered HDF5 dataset 1: 2 episodes" in result.output
    assert "registered HDF5 dataset 2: 1 episodes" in result.output
    info = json.loads((data_root / "demo" / "info.json").read_text())
    assert info["cameras"] == ["front", "side"] and info["fps"] == 30.0
    assert (info["name"], info["scene"]) == ("demo-pick-and-place", "workspace")
    street = json.loads((data_root / "demo-street" / "info.json").read_text())
    assert (street["name"], street["scene"], street["total_episodes"]) == ("demo-street", "street", 1)
    assert len(list((data_root / "demo" / "ground_truth").glob("*.json"))) == 2
    skipped = runner.invoke(app, ["demo", "--if-empty"])
    assert skipped.exit_code == 0 and "already registered" in skipped.output
    # Episode 0 carries its true boxes as validated ground truth; episode 1 is left to annotate.
    expected = []
    for folder in ("demo", "demo-street"):
        truth = json.loads((data_root / folder / "ground_truth" / "episode_000000.json").read_text())
        expected.append(sum(len(boxes) for boxes in truth["cameras"].values()))
        assert f"loaded {expected[-1]} validated ground-truth boxes" in result.output
    robot, street_state = asyncio.run(_demo_state(1, 2)), asyncio.run(_demo_state(2, 1))
    assert robot == (["cube", "cylinder", "mug", "gripper"], [(0, expected[0], expected[0]), (1, 0, 0)])
    street_labels = ["pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider"]
    assert street_state == (street_labels, [(0, expected[1], expected[1])])


def test_demo_refuses_one_folder_for_both_sets(env, data_root):
    same = str(data_root / "both")
    result = runner.invoke(app, ["demo", "--path", same, "--street-path", same])
    assert result.exit_code == 2 and "--street-path" in result.output
    assert not (data_root / "both").exists()


async def _demo_state(dataset_id: int, episodes: int):
    from domain.core.runtime import Runtime
    from domain.objects import labels
    from domain.objects import queries as object_queries
    from persistence.repositories import episode as episodes_repo

    rt = Runtime.build(get_settings())
    try:
        (label_rows,) = await labels.labels_by_datasets(rt, [dataset_id])
        async with rt.sessions() as session:
            wanted = [(dataset_id, i) for i in range(episodes)]
            found = await episodes_repo.read_episodes_by_indexes(session, wanted)
        found.sort(key=lambda e: e.index)
        reviews = await object_queries.review_by_episodes(rt, [e.id for e in found])
        return [r.name for r in label_rows], [
            (e.index, r.total, r.validated) for e, r in zip(found, reviews, strict=True)
        ]
    finally:
        await rt.engine.dispose()


def test_bad_setting_fails_with_the_variable_name(env, monkeypatch):
    monkeypatch.setenv("ANNOGRAPH_PORT", "not-a-port")
    get_settings.cache_clear()
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "ANNOGRAPH_PORT" in result.output


def test_serve_refuses_an_unmigrated_database(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOGRAPH_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("ANNOGRAPH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "annograph migrate" in result.output


def test_users_create_prints_a_working_token(env):
    result = runner.invoke(app, ["users", "create", "carol", "--role", "reviewer"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("ag_")
    again = runner.invoke(app, ["users", "create", "carol"])
    assert again.exit_code == 1 and "exists already" in again.output
    bad = runner.invoke(app, ["users", "create", "dave", "--role", "boss"])
    assert bad.exit_code == 2 and "VIEWER" in bad.output

    import asyncio

    from domain.accounts.tokens import TokenKind, authenticate
    from domain.core.runtime import Runtime
    from persistence.settings import get_settings

    async def who() -> tuple[str, str]:
        rt = Runtime.build(get_settings())
        try:
            viewer = await authenticate(rt, secret, kinds=[TokenKind.API])
            return viewer.name, viewer.role.value
        finally:
            await rt.engine.dispose()

    assert asyncio.run(who()) == ("carol", "REVIEWER")


def test_login_prints_a_one_time_link(env):
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 0, result.output
    assert "/login?code=ag_" in result.output
    missing = runner.invoke(app, ["login", "--user", "nobody"])
    assert missing.exit_code == 1 and "no user is named 'nobody'" in missing.output


def test_serve_refuses_auth_off_on_a_public_address(env, monkeypatch):
    monkeypatch.setenv("ANNOGRAPH_AUTH", "false")
    get_settings.cache_clear()
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "ANNOGRAPH_AUTH" in result.output and "loopback" in result.output
