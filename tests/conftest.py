"""Every database test runs twice: on SQLite and on PostgreSQL (ANNOGRAPH_TEST_DATABASE_URL).

Without a reachable PostgreSQL its half is left out with one line saying so, unless CI=true,
where that is an error. Each test gets an empty, migrated database.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from domain.core.runtime import Runtime
from graph.app import create_app
from persistence.engine import create_engine, is_sqlite
from persistence.migrate import upgrade
from persistence.settings import load_settings
from persistence.tables import metadata
from tests.factories import write_dataset

PG_URL = os.environ.get("ANNOGRAPH_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_pg_problem: str | None = None


async def _probe(url: str) -> None:
    engine = create_engine(url)
    try:
        async with asyncio.timeout(5), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    global _pg_problem
    try:
        asyncio.run(_probe(PG_URL))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        _pg_problem = f"{type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            raise pytest.UsageError(
                f"CI=true but PostgreSQL at {PG_URL} does not answer ({_pg_problem})"
            ) from None


def pytest_report_header(config: pytest.Config) -> str:
    if _pg_problem:
        return f"PostgreSQL not reachable at {PG_URL}: its half of the suite is skipped ({_pg_problem[:120]})"
    return f"databases: SQLite and PostgreSQL ({PG_URL})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _pg_problem:
        kept = [i for i in items if "[postgresql" not in i.nodeid]
        config.hook.pytest_deselected(items=[i for i in items if "[postgresql" in i.nodeid])
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    # The modules the suite imported live to its end: out of the collector's sight, as `annograph serve`
    # does (graph/app.py, freeze_gc). Late in the suite a full collection walked them all in the middle
    # of a request (the /health probe of test_attacks_keep_health took 1-1.5 s there, 0.07 s alone).
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrate once per session: a SQLite template file, and the PostgreSQL test database."""
    folder = tmp_path_factory.mktemp("db")
    sqlite_template = folder / "template.db"
    upgrade(f"sqlite+aiosqlite:///{sqlite_template}")
    templates = {"sqlite": str(sqlite_template)}
    if not _pg_problem:
        asyncio.run(_reset_postgres(PG_URL))
        upgrade(PG_URL)
        templates["postgresql"] = PG_URL
    return templates


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, migrated_templates, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "annograph.db"
        shutil.copy(migrated_templates["sqlite"], target)
        return f"sqlite+aiosqlite:///{target}"
    url = migrated_templates["postgresql"]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "datasets"
    root.mkdir()
    return root


@pytest.fixture
def settings(database_url: str, tmp_path: Path, data_root: Path):
    return load_settings(var_dir=tmp_path, database_url=database_url, data_roots=[data_root])


@pytest.fixture
async def runtime(settings):
    rt = Runtime.build(settings)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


async def make_user(runtime: Runtime, name: str, role: str) -> str:
    """A user with this role and an API token; returns the token's secret."""
    from domain.accounts.tokens import issue_token
    from domain.accounts.users import Role, create_user

    user = await create_user(runtime, name, Role(role))
    _, secret = await issue_token(runtime, user.id, "tests")
    return secret


@pytest.fixture
async def admin_token(runtime) -> str:
    return await make_user(runtime, "admin", "ADMIN")


def http_client(app, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost", headers=headers
    )


@pytest.fixture
async def client(app, admin_token):
    """A client signed in as an admin."""
    async with http_client(app, admin_token) as c:
        yield c


@pytest.fixture
async def anonymous(app):
    async with http_client(app) as c:
        yield c


@pytest.fixture
def tiny_dataset(data_root: Path) -> Path:
    return write_dataset(data_root / "tiny")


async def gql(client: httpx.AsyncClient, query: str, **variables) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def register(runtime: Runtime, folder: Path) -> int:
    """Register a folder and wait for its job; returns the dataset id."""
    from domain.datasets.service import register_dataset

    job = await register_dataset(runtime, str(folder))
    done = await runtime.jobs.wait(job.id)
    assert done.status == "COMPLETED", (done.error_code, done.error_message)
    return done.dataset_id


def sqlite_only(url: str) -> bool:
    return is_sqlite(url)
