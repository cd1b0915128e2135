"""`annograph login` reads the server's settings and invents no database; `datasets add` takes paths
relative to the current folder and keeps a re-indexed dataset's name (issue 20)."""

from __future__ import annotations

import asyncio
import os
import re

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from domain.core.runtime import Runtime
from graph.app import create_app
from graph.auth import SESSION_COOKIE
from graph.cli import app
from persistence.settings import get_settings
from tests.conftest import PG_URL, http_client
from tests.factories import write_dataset

runner = CliRunner()
LINK = re.compile(r"http://(?P<host>[^:/]+):(?P<port>\d+)/login\?code=(?P<code>ag_\S+)")


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, data_root):
    monkeypatch.setenv("ANNOGRAPH_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ANNOGRAPH_DATABASE_URL", database_url)
    monkeypatch.setenv("ANNOGRAPH_DATA_ROOTS", str(data_root))
    monkeypatch.delenv("ANNOGRAPH_PORT", raising=False)
    monkeypatch.delenv("ANNOGRAPH_HOST", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


async def _open_link(path: str) -> tuple[int, str, bool]:
    """GET the link's path on an app built from the environment's settings: status, location, cookie."""
    rt = Runtime.build(get_settings())
    await rt.start(recover_jobs=False)
    try:
        async with http_client(create_app(runtime=rt)) as browser:
            response = await browser.get(path)
            return (
                response.status_code,
                response.headers.get("location", ""),
                SESSION_COOKIE in browser.cookies,
            )
    finally:
        await rt.stop()


def test_login_link_names_the_servers_port_and_works(env, monkeypatch):
    monkeypatch.setenv("ANNOGRAPH_PORT", "8101")  # as `ANNOGRAPH_PORT=8101 make serve` was started
    get_settings.cache_clear()
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 0, result.output
    link = LINK.search(result.output)
    assert link is not None and (link["host"], link["port"]) == ("127.0.0.1", "8101")
    assert asyncio.run(_open_link(f"/login?code={link['code']}")) == (303, "/graphql", True)

    other = runner.invoke(app, ["login", "--host", "localhost", "--port", "9001"])
    assert other.exit_code == 0, other.output
    link = LINK.search(other.output)
    assert link is not None and (link["host"], link["port"]) == ("localhost", "9001")

    bad = runner.invoke(app, ["login", "--port", "70000"])
    assert bad.exit_code == 2 and "ANNOGRAPH_PORT" in bad.output


def test_serve_records_its_address_for_login(env, monkeypatch):
    """`ANNOGRAPH_PORT=8101 annograph serve` in one shell, `annograph login` in another without it."""
    import json
    import subprocess
    import sys

    seen: dict = {}

    def fake_run(app_, **options):  # what `serve` hands to uvicorn, and the record while it runs
        seen.update(options, record=json.loads((env / "server.json").read_text()))

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setenv("ANNOGRAPH_PORT", "8101")
    get_settings.cache_clear()
    served = runner.invoke(app, ["serve"])
    assert served.exit_code == 0, served.output
    assert seen["port"] == 8101 and seen["record"]["port"] == 8101 and seen["record"]["host"] == "127.0.0.1"
    assert "redact_secrets" in seen["log_config"]["loggers"]["uvicorn.access"]["filters"]
    assert "postgres@" not in json.dumps(seen["record"])  # the database by a hash of its URL
    assert not (env / "server.json").exists()  # removed when the server stopped

    # A server running (this process stands in for it) with that record: login's link goes there.
    record = {**seen["record"], "pid": os.getpid()}
    (env / "server.json").write_text(json.dumps(record))
    monkeypatch.delenv("ANNOGRAPH_PORT")
    get_settings.cache_clear()
    link = LINK.search(runner.invoke(app, ["login"]).output)
    assert link is not None and link["port"] == "8101"
    explicit = LINK.search(runner.invoke(app, ["login", "--port", "8200"]).output)
    assert explicit is not None and explicit["port"] == "8200"

    # A record left by a server that was killed: ignored.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    (env / "server.json").write_text(json.dumps({**record, "pid": int(gone.stdout)}))
    stale = LINK.search(runner.invoke(app, ["login"]).output)
    assert stale is not None and stale["port"] == "8000"


def test_login_creates_no_sqlite_database(monkeypatch, tmp_path):
    """Run from another folder (no ANNOGRAPH_* set): no database there, and none is made."""
    for name in ("ANNOGRAPH_DATABASE_URL", "ANNOGRAPH_VAR_DIR", "ANNOGRAPH_PORT", "ANNOGRAPH_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["login"])
    finally:
        get_settings.cache_clear()
    database = tmp_path / "var" / "annograph.db"
    assert result.exit_code == 2, result.output
    # rich wraps long lines, inside a long path too: compare without any whitespace.
    output = "".join(result.output.split())
    assert f"nodatabaseatsqlite+aiosqlite:///{database}" in output
    assert "makeserve" in output and "annographmigrate" in output
    assert not database.exists()


async def _empty_postgres() -> str:
    """A PostgreSQL database beside the test one, with no tables; its URL."""
    url = make_url(PG_URL)
    name = f"{url.database}_empty"
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _tables(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            if url.startswith("sqlite"):
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            else:
                query = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            return (await connection.execute(text(query))).scalar_one()
    finally:
        await engine.dispose()


def test_login_refuses_a_database_without_schema(env, monkeypatch, database_url, tmp_path):
    if database_url.startswith("sqlite"):
        empty = tmp_path / "empty.db"
        empty.touch()
        url = f"sqlite+aiosqlite:///{empty}"
    else:
        url = asyncio.run(_empty_postgres())
    monkeypatch.setenv("ANNOGRAPH_DATABASE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["login"])
    assert result.exit_code == 2, result.output
    output = "".join(result.output.split())  # rich wraps long lines, inside a long path too
    assert "hasnoschema" in output and "annographmigrate" in output
    assert make_url(url).render_as_string(hide_password=True) in output
    assert asyncio.run(_tables(url)) == 0  # no schema, no user made


async def _dataset_names() -> list[str]:
    from domain.datasets.service import list_datasets

    rt = Runtime.build(get_settings())
    try:
        return [d.name for d in await list_datasets(rt, after_id=None, limit=10)]
    finally:
        await rt.engine.dispose()


def test_datasets_add_takes_paths_from_the_current_folder(env, data_root, monkeypatch):
    write_dataset(data_root / "copy", episodes=1)
    monkeypatch.chdir(env)  # data_root is env/datasets
    result = runner.invoke(app, ["datasets", "add", "datasets/copy"])
    assert result.exit_code == 0, result.output
    assert "registered HDF5 dataset 1" in result.output

    monkeypatch.chdir(data_root / "copy")
    again = runner.invoke(app, ["datasets", "add", "."])
    assert again.exit_code == 0 and "registered HDF5 dataset 1" in again.output  # the same dataset

    outside = write_dataset(env / "elsewhere", episodes=1)
    monkeypatch.chdir(env)
    refused = runner.invoke(app, ["datasets", "add", "elsewhere"])
    assert refused.exit_code == 1
    output = "".join(refused.output.split())  # rich wraps long lines, inside a long path too
    assert f"{outside}:outsidethedataroots({data_root})" in output


def test_reindexing_keeps_the_name_unless_given(env, data_root):
    folder = write_dataset(data_root / "picks", episodes=1, name="from info.json")
    assert runner.invoke(app, ["datasets", "add", str(folder)]).exit_code == 0
    assert asyncio.run(_dataset_names()) == ["from info.json"]
    assert runner.invoke(app, ["datasets", "add", str(folder), "--name", "Kitchen picks"]).exit_code == 0
    assert asyncio.run(_dataset_names()) == ["Kitchen picks"]
    assert runner.invoke(app, ["datasets", "add", str(folder)]).exit_code == 0
    assert asyncio.run(_dataset_names()) == ["Kitchen picks"]  # kept: not renamed back to info.json's
    assert runner.invoke(app, ["datasets", "add", str(folder), "--name", "Shelf picks"]).exit_code == 0
    assert asyncio.run(_dataset_names()) == ["Shelf picks"]
