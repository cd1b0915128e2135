"""The `annograph` command: serve, migrate, demo, datasets add, schema."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from persistence.documents import IndexingSummary
from persistence.settings import Settings, SettingsError, derived_event_prefix, get_settings, load_settings

app = typer.Typer(
    help="annograph: robot episodes, annotations and model validation as one GraphQL graph.",
    no_args_is_help=True,
    add_completion=False,
)
datasets_app = typer.Typer(help="Manage datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console(stderr=True)


def _settings(**overrides) -> Settings:
    """The environment's settings, with command-line overrides validated like the rest."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        settings = load_settings(**given) if given else get_settings()
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _advance(progress: Progress, bar: TaskID, done: int, total: int) -> None:
    progress.update(bar, completed=done, total=total)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _migrate(settings: Settings) -> None:
    from persistence.migrate import upgrade

    upgrade(settings.database_url)
    if settings.job_queue == "procrastinate":
        asyncio.run(_queue_schema(settings))


async def _queue_schema(settings: Settings) -> None:
    """procrastinate's tables and functions (the server's start applies them too)."""
    from persistence.job_queue import ProcrastinateQueue

    queue = ProcrastinateQueue(settings.database_url)
    try:
        await queue.ensure_schema()
    finally:
        await queue.close()


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (safe to run again)."""
    settings = _settings()
    _migrate(settings)
    console.print(f"database at the newest schema: {settings.database_url}")


async def _schema_is_current(settings: Settings) -> bool:
    from persistence.engine import create_engine
    from persistence.migrate import current_revision, head_revision

    engine = create_engine(settings.database_url)
    try:
        return await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to bind (default ANNOGRAPH_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ANNOGRAPH_PORT, 8000)."),
) -> None:
    """Serve the GraphQL API, GraphiQL, media and health."""
    import uvicorn

    from graph.app import create_app

    settings = _settings(host=host, port=port)
    if not asyncio.run(_schema_is_current(settings)):
        console.print("[red]the database schema is not the newest: run `annograph migrate` first[/red]")
        raise typer.Exit(2)
    console.print(f"GraphiQL: http://{settings.host}:{settings.port}/graphql")
    if settings.auth:
        link = asyncio.run(_login_link(settings, None))
        console.print(f"Log in (opens GraphiQL; the link works once): {link}")
    else:
        console.print("authentication is off: every request acts as the local admin")
    from graph.access_log import uvicorn_log_config

    record = _write_server_record(settings)
    try:
        uvicorn.run(
            create_app(settings, freeze_gc=True),
            host=settings.host,
            port=settings.port,
            # WebSocket messages uncompressed: permessage-deflate compresses every message once per
            # socket, so a live event to 100 subscribers was deflated 100 times; the messages are
            # small JSON (an event's fields), where the saving is a few bytes.
            ws_per_message_deflate=False,
            log_level=settings.log_level.lower(),
            log_config=uvicorn_log_config(),  # the access log writes login codes as ag_[redacted]
        )
    finally:
        _remove_server_record(record)


SERVER_RECORD = "server.json"


def _write_server_record(settings: Settings) -> Path:
    """<var dir>/server.json: where this server listens (host, port, pid, database), so that
    `annograph login` in another shell, without the ANNOGRAPH_HOST/PORT the server was started with,
    prints a link to it. Removed when the server stops."""
    import json

    record = settings.var_dir / SERVER_RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    served = {
        "host": settings.host,
        "port": settings.port,
        "pid": os.getpid(),
        # The database as a hash of its URL without the password: the file holds no secret.
        "database": derived_event_prefix(settings.database_url),
    }
    record.write_text(json.dumps(served))
    return record


def _remove_server_record(record: Path) -> None:
    """Remove this process's server.json (not one another server, on the same var dir, wrote since)."""
    import json

    try:
        if json.loads(record.read_text()).get("pid") == os.getpid():
            record.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _running_server(settings: Settings) -> tuple[str, int] | None:
    """The host and port of the server running on this database with this var dir, from its
    server.json; None when there is none, or its process is gone (a record left by a killed server)."""
    import json

    try:
        served = json.loads((settings.var_dir / SERVER_RECORD).read_text())
        host, port, pid, database = served["host"], served["port"], served["pid"], served["database"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if database != derived_event_prefix(settings.database_url) or not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, as another user
    return (host, port) if isinstance(host, str) and isinstance(port, int) else None


@app.command()
def worker(
    queues: str = typer.Option(
        None,
        help="Queues to take jobs from, comma-separated: cpu (analysis), io (exports), detect (default all).",
    ),
    concurrency: int = typer.Option(1, min=1, help="Jobs this worker runs at once."),
) -> None:
    """Run queued jobs (ANNOGRAPH_JOB_QUEUE=procrastinate, PostgreSQL) until stopped."""
    from domain.jobs.worker import QUEUES, run_worker

    settings = _settings()
    if settings.job_queue != "procrastinate":
        console.print("[red]ANNOGRAPH_JOB_QUEUE: `annograph worker` needs procrastinate[/red]")
        raise typer.Exit(2)
    chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else list(QUEUES)
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        console.print(f"[red]--queues: {unknown} are not queues ({', '.join(QUEUES)})[/red]")
        raise typer.Exit(2)
    if not asyncio.run(_schema_is_current(settings)):
        console.print("[red]the database schema is not the newest: run `annograph migrate` first[/red]")
        raise typer.Exit(2)
    logging.basicConfig(level=settings.log_level)
    console.print(f"worker: queues {', '.join(chosen)}, concurrency {concurrency}")
    asyncio.run(run_worker(settings, chosen, concurrency))


async def _register(
    settings: Settings, path: str, name: str | None, format: str | None = None, options: dict | None = None
) -> int:
    """Index a dataset in this process, with a progress bar; returns the exit code."""
    from domain.core.errors import DomainError
    from domain.core.job_runner import JOBS_CHANNEL
    from domain.core.job_states import FINISHED, JobStatus
    from domain.core.runtime import Runtime
    from domain.datasets import service as datasets
    from domain.jobs.queries import jobs_by_ids

    # Indexed here with its progress bar, whatever ANNOGRAPH_JOB_QUEUE says: the command needs no worker.
    rt = Runtime.build(settings.model_copy(update={"job_queue": "embedded"}))
    await rt.start(recover_jobs=False)
    try:
        async with rt.events.subscribe(JOBS_CHANNEL) as messages:
            try:
                job = await datasets.register_dataset(
                    rt, path, name, format=format, options=options, options_field="--option"
                )
            except DomainError as exc:
                console.print(f"[red]{exc.message}[/red]")
                return 1
            with _progress() as progress:
                bar = progress.add_task(f"indexing {path}", total=1.0)
                async for message in messages:
                    if message["id"] != job.id:
                        continue
                    (found,) = await jobs_by_ids(rt, [job.id])
                    assert found is not None  # the job registered above
                    current = found
                    progress.update(bar, completed=current.progress)
                    if JobStatus(current.status) in FINISHED:
                        break
        if current.status != JobStatus.COMPLETED:
            console.print(f"[red]{current.status.lower()}: {current.error_message}[/red]")
            return 1
        summary = current.summary.as_kind(IndexingSummary) if current.summary else None
        if summary is None:
            console.print(f"registered (job v{current.version})")
            return 0
        console.print(
            f"registered {summary.format} dataset {summary.dataset_id}: "
            f"{summary.episodes} episodes, {summary.frames} frames (job v{current.version})"
        )
        if summary.clock:
            console.print(f"clock: {summary.clock}")
        for field in summary.unmapped:
            shape = f" {field.shape}" if field.shape else ""
            detail = f"{field.source}{shape} {field.dtype or ''} {field.note}"
            console.print(f"  unmapped: {detail}")
        return 0
    finally:
        await rt.stop()


@datasets_app.command("add")
def datasets_add(
    path: str = typer.Argument(
        ...,
        help="Folder or file under a data root (ANNOGRAPH_DATA_ROOTS), relative to the current folder.",
    ),
    name: str = typer.Option(
        None,
        help="Display name; default the name the format records (re-indexing keeps the name it has).",
    ),
    format: str = typer.Option(
        None, help="LEROBOT, HDF5, ALOHA, ROBOMIMIC, ROSBAG or MCAP; detected when left out."
    ),
    option: list[str] = typer.Option(
        [],
        "--option",
        "-o",
        help=(
            "A format option as KEY=VALUE (VALUE read as JSON when it parses, else as text), repeatable: "
            "-o fps=50 -o clock_topic=/camera/front/image_raw. `annograph datasets formats` lists them."
        ),
    ),
) -> None:
    """Register (or re-index) a dataset folder or file in any supported format, showing progress and
    what was left unmapped."""
    settings = _settings()
    _migrate(settings)
    try:
        options = _parse_options(option)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    # Relative to the current folder, as a shell user means it (and as `demo --path` takes it); the
    # service then checks it lies under a data root.
    target = str(Path.cwd() / Path(path).expanduser())
    raise typer.Exit(asyncio.run(_register(settings, target, name, format and format.upper(), options)))


def _parse_options(pairs: list[str]) -> dict:
    import json

    options: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


@datasets_app.command("formats")
def datasets_formats() -> None:
    """The formats `datasets add` reads and each one's options (name, type, default, meaning)."""
    from persistence.episode_sources.formats import options_schemas

    for format, schema in options_schemas().items():
        console.print(f"[bold]{format}[/bold]")
        for key, spec in (schema.get("properties") or {}).items():
            default = spec.get("default", "-")
            console.print(f"  {key} (default {default!r}): {spec.get('description', '')}")


async def _has_datasets(settings: Settings) -> bool:
    from domain.core.runtime import Runtime
    from domain.datasets.service import count_datasets

    rt = Runtime.build(settings)
    try:
        return await count_datasets(rt) > 0
    finally:
        await rt.engine.dispose()


@app.command()
def demo(
    path: Path = typer.Option(None, help="Where to write the robot set (default <first data root>/demo)."),
    episodes: int = typer.Option(24, min=1, help="Episodes of the robot set (its workspace, known defects)."),
    street_path: Path = typer.Option(
        None, help="Where to write the street set (default <first data root>/demo-street)."
    ),
    street_episodes: int = typer.Option(
        8, min=0, help="Episodes of the street set (pedestrians and cyclists, for model validation); 0: none."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when a dataset is already registered."
    ),
) -> None:
    """Write the synthetic demo datasets and register them: the robot set `demo-pick-and-place` (its
    cameras see the arm, gripper and objects it moves; known defects; true boxes) and the street set
    `demo-street` (pedestrians and cyclists with true boxes, which model validation uses)."""
    from domain.datasets.demo import DemoSpec, street_spec, write_demo_dataset

    settings = _settings()
    _migrate(settings)
    if if_empty and asyncio.run(_has_datasets(settings)):
        console.print("a dataset is already registered: no demo written")
        return
    robot = (path or settings.demo_dir).expanduser().resolve()
    street = (street_path or settings.demo_dir.with_name("demo-street")).expanduser().resolve()
    if street_episodes and street == robot:
        console.print("[red]--street-path: the street set needs a folder of its own[/red]")
        raise typer.Exit(2)
    sets = [(robot, DemoSpec(episodes=episodes))]
    sets += [(street, street_spec(street_episodes))] if street_episodes else []
    for folder, spec in sets:
        with _progress() as progress:
            bar = progress.add_task(f"writing {spec.name} to {folder}", total=spec.episodes)
            write_demo_dataset(
                folder,
                spec,
                workers=os.cpu_count() or 1,
                progress=functools.partial(_advance, progress, bar),
            )
    for folder, spec in sets:
        code = asyncio.run(_register(settings, str(folder), None))
        if code != 0:
            raise typer.Exit(code)
        count = asyncio.run(_load_demo_truth(settings, folder))
        console.print(f"{spec.name}: loaded {count} validated ground-truth boxes on the even episodes")
    raise typer.Exit(0)


async def _load_demo_truth(settings: Settings, folder: Path) -> int:
    from domain.core.runtime import Runtime
    from domain.objects.demo_truth import load_demo_truth

    rt = Runtime.build(settings)
    try:
        return await load_demo_truth(rt, folder)
    finally:
        await rt.engine.dispose()


async def _login_link(settings: Settings, user: str | None) -> str:
    from domain.accounts import tokens, users
    from domain.core.runtime import Runtime

    rt = Runtime.build(settings)
    try:
        if user is None:
            row = await users.first_admin(rt)
        else:
            row = await users.find_user(rt, user)
        code = await tokens.create_login_code(rt, row.id)
    finally:
        await rt.engine.dispose()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}/login?code={code}"


async def _database_problem(settings: Settings) -> str | None:
    """Why the configured database is not one a server runs on (absent, empty, an older schema,
    unreachable), or None. Touches nothing: a SQLite file that does not exist is not created."""
    from sqlalchemy.engine import make_url

    from persistence.engine import create_engine
    from persistence.migrate import current_revision, head_revision

    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    start = "start the server with `make serve` (or `annograph migrate`, then `annograph serve`)"
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not Path(url.database).is_file():
            return f"no database at {shown}: {start}, or run this where the server runs, with its settings"
    engine = create_engine(settings.database_url)
    try:
        revision = await current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is told, with the URL
        return f"cannot read the database at {shown} ({type(exc).__name__}: {exc}): {start}"
    finally:
        await engine.dispose()
    if revision is None:
        return f"the database at {shown} has no schema: {start}"
    if revision != head_revision():
        return f"the database at {shown} is not at the newest schema: run `annograph migrate`"
    return None


@app.command()
def login(
    user: str = typer.Option(None, help="Log in as this user (default: the first admin)."),
    host: str = typer.Option(None, help="The server's address in the link (default ANNOGRAPH_HOST)."),
    port: int = typer.Option(None, help="The server's port in the link (default ANNOGRAPH_PORT, 8000)."),
) -> None:
    """Print a one-time browser login link for a running server. Reads the settings `annograph serve`
    reads (ANNOGRAPH_* variables, paths relative to the current folder): run it where the server runs.
    The link names the address the server recorded in <var dir>/server.json unless --host, --port or
    ANNOGRAPH_HOST/PORT say otherwise. Creates no database: one absent or not migrated is an error."""
    from domain.core.errors import DomainError

    if host is None and port is None and not {"ANNOGRAPH_HOST", "ANNOGRAPH_PORT"} & set(os.environ):
        # The running server's own address, as it recorded it (it may have been started with others).
        host, port = _running_server(_settings()) or (None, None)
    settings = _settings(host=host, port=port)
    problem = asyncio.run(_database_problem(settings))
    if problem is not None:
        console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)
    try:
        print(asyncio.run(_login_link(settings, user)))
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None


@users_app.command("create")
def users_create(
    name: str = typer.Argument(..., help="Unique user name."),
    role: str = typer.Option("ANNOTATOR", help="VIEWER, ANNOTATOR, REVIEWER or ADMIN."),
) -> None:
    """Create a user and print an API token for them (shown once)."""
    from domain.accounts.users import Role
    from domain.core.errors import DomainError

    settings = _settings()
    if role.upper() not in Role.__members__:
        console.print(f"[red]--role must be one of {', '.join(Role.__members__)}[/red]")
        raise typer.Exit(2)
    _migrate(settings)
    try:
        secret = asyncio.run(_create_user(settings, name, Role(role.upper())))
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"created {name} ({role.upper()}); their API token, shown once:")
    print(secret)


async def _create_user(settings: Settings, name: str, role) -> str:
    from domain.accounts import tokens, users
    from domain.core.runtime import Runtime

    rt = Runtime.build(settings)
    try:
        row = await users.create_user(rt, name, role)
        _, secret = await tokens.issue_token(rt, row.id, "created by the CLI")
        return secret
    finally:
        await rt.engine.dispose()


@app.command("schema")
def export_schema(
    output: Path = typer.Option(
        None, help="Where to write the SDL (default schema.graphql of the repository)."
    ),
) -> None:
    """Write the GraphQL schema (SDL) that the service serves."""
    from graph.schema import SCHEMA_FILE, schema_sdl

    target = output or SCHEMA_FILE
    target.write_text(schema_sdl())
    console.print(f"wrote {target}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
