"""Datasets: registering folders and files from under the data roots in any recording format
(persistence/episode_sources), and reading them back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from domain.core.errors import BadUserInput, check_text, validated
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from persistence.columns import utcnow
from persistence.documents import IndexingParameters, IndexingSummary
from persistence.episode_sources import DatasetScan, EpisodeScan, SourceError
from persistence.episode_sources import formats as formats_
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import task as tasks_repo
from persistence.settings import Settings
from persistence.tables import DatasetRow, JobRow

FORMAT_HDF5 = "HDF5"


def resolve_dataset_path(settings: Settings, path: str, field: str = "path") -> Path:
    """The real folder or file `path` names (relative paths: to the first data root), which must lie
    under one of the data roots."""
    # No `~` expansion: a client's path names a place under the data roots, not the server user's home.
    target = Path(check_text(path, field, max_length=4096))
    if not target.is_absolute():
        target = settings.data_roots[0] / target
    target = target.resolve()  # symlinks resolved first, so a link cannot escape the roots
    if not any(target.is_relative_to(root) for root in settings.data_roots):
        roots = ", ".join(str(r) for r in settings.data_roots)
        raise BadUserInput(f"{target}: outside the data roots ({roots})", field=field)
    if not target.exists():
        raise BadUserInput(f"{target}: no such file or folder", field=field)
    return target


def source_error(exc: SourceError, field: str, root: Path) -> BadUserInput:
    """A file that does not match its format, as BAD_USER_INPUT naming the file (absolute) and the path
    inside it (`extensions.file`, `extensions.where`)."""
    file = Path(exc.path)
    if not file.is_absolute():
        file = (root if root.is_dir() else root.parent) / file
    where = f" [{exc.where}]" if exc.where else ""
    return BadUserInput(f"{file}{where}: {exc.problem}", field=field, file=str(file), where=exc.where or None)


def check_format(target: Path, format: str | None, field: str, path_field: str) -> str:
    """The format given (`field`), which must recognise `target`, or the one detected."""
    if format is not None:
        if format not in formats_.REGISTRABLE:
            known = ", ".join(formats_.REGISTRABLE)
            raise BadUserInput(f"{field}: unknown format {format!r} (known: {known})", field=field)
        if not formats_.module(format).detect(target):
            expected = formats_.EXPECTED[format]
            raise BadUserInput(f"{target}: not a {format} dataset: {expected}", field=path_field)
        return format
    detected = formats_.detect_format(target)
    if detected is None:
        expected = "; ".join(f"{f}: {formats_.EXPECTED[f]}" for f in formats_.REGISTRABLE)
        raise BadUserInput(f"{target}: not a dataset of a known format ({expected})", field=path_field)
    return detected


def check_options(format: str, options: object, field: str) -> BaseModel:
    """The format's registration options; the first wrong one is BAD_USER_INPUT naming it."""
    return validated(formats_.options_model(format), options, field, f" (format {format})")


async def register_dataset(
    rt: Runtime,
    path: str,
    name: str | None = None,
    field: str = "path",
    format: str | None = None,
    options: object = None,  # a client's JSON value: an object is expected
    options_field: str = "options",
) -> JobRow:
    """Check the path, its format and the options now (clear errors before any job exists), then
    index it as a job. Registering a path again re-indexes the same dataset as the next job version,
    reading again only the files that changed."""
    if name is not None and name.strip():
        name = check_text(name, "name", max_length=200)
    target = await asyncio.to_thread(resolve_dataset_path, rt.settings, path, field)
    format_field = field.rsplit(".", 1)[0] + ".format" if "." in field else "format"
    format = await asyncio.to_thread(check_format, target, format, format_field, field)
    parsed = check_options(format, options, options_field)
    try:
        await asyncio.to_thread(formats_.check, format, target, parsed)
    except SourceError as exc:
        raise source_error(exc, field, target) from None
    async with rt.sessions() as session:
        existing = await datasets_repo.read_dataset_by_path(session, str(target))
    # The runner commits the job in its own transaction (a version another process took is retried);
    # `run_indexing_job` rebuilds the work from the stored parameters, here or in a worker.
    return await rt.jobs.submit(
        kind=JobKind.INDEXING,
        target=f"path:{target}",
        parameters=IndexingParameters(
            path=str(target), name=name, format=format, options=parsed.model_dump(mode="json")
        ),
        dataset_id=existing.id if existing else None,
        body=registered_body(rt),
    )


@register(JobKind.INDEXING, IndexingParameters)
async def run_indexing_job(rt: Runtime, ctx: JobContext) -> None:
    """An indexing rebuilt from its job's parameters (checked when it was submitted)."""
    stored = ctx.job.parameters.as_kind(IndexingParameters)
    assert stored is not None and stored.format is not None  # as register_dataset submitted it
    options = check_options(stored.format, stored.options, "options")
    await _index_dataset(rt, Path(stored.path), stored.name, stored.format, options, ctx)


async def _previous_scans(rt: Runtime, target: Path, format: str) -> dict[str, EpisodeScan]:
    """The last registration's episodes, by file, so that formats with a file per episode read only the
    files that changed."""
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset_by_path(session, str(target))
        if dataset is None or dataset.format != format:
            return {}
        rows = await episodes_repo.list_episode_scans(session, dataset.id)
    return {
        r.file: EpisodeScan(
            index=r.index,
            file=r.file,
            length=r.length,
            duration=r.duration,
            cameras=r.cameras,
            missing=list(r.missing),
            file_size=r.file_size,
            file_mtime=r.file_mtime,
            task_indexes=list(r.task_indexes or ([] if r.task_index is None else [r.task_index])),
            locator=json.loads(r.locator or "{}"),
        )
        for r in rows
    }


async def _index_dataset(
    rt: Runtime, target: Path, name: str | None, format: str, options: BaseModel, ctx: JobContext
) -> None:
    # Read apart from the write below: the scan between takes minutes, no transaction stays open over it.
    previous = await _previous_scans(rt, target, format)
    loop = asyncio.get_running_loop()

    def progress(fraction: float, message: str) -> None:  # called from the scanning thread
        # ctx.progress writes at most a few times a second; the rest return at once. Waiting for it
        # keeps the writes in the order of the steps (fire-and-forget ones could land out of order).
        asyncio.run_coroutine_threadsafe(ctx.progress(min(fraction, 0.99), message), loop).result(60)

    try:
        scan: DatasetScan = await asyncio.to_thread(
            formats_.module(format).scan, target, options, previous, progress
        )
    except SourceError as exc:
        raise source_error(exc, "path", target) from None
    indexes = [e.index for e in scan.episodes]
    if not scan.episodes:
        raise BadUserInput(f"{target}: holds no episodes", field="path")
    if len(set(indexes)) != len(indexes):
        raise BadUserInput(f"{target}: two episodes share an index", field="path")
    limit = rt.settings.max_frame_pixels
    for e in scan.episodes:
        for camera, (_, height, width) in e.cameras.items():
            if height * width > limit:
                raise BadUserInput(
                    f"{target}: episode {e.index}, camera {camera!r} has {width} x {height} frames, "
                    f"more than {limit} pixels each (ANNOGRAPH_MAX_FRAME_PIXELS)",
                    field="path",
                )
    mapping = [m.stored() for m in scan.mapping]
    unmapped = [m for m in mapping if m.target is None]
    # Everything was read before the first write: one transaction, nothing half-registered.
    async with rt.sessions() as session, session.begin():
        if not name:
            # Re-indexing keeps the name the dataset has (perhaps given with `name` or renamed since);
            # the format's own name is only the first registration's default.
            existing = await datasets_repo.read_dataset_by_path(session, str(target))
            name = existing.name if existing is not None else scan.name
        dataset = await datasets_repo.upsert_dataset(
            session,
            str(target),
            name=name,
            format=format,
            format_version=scan.format_version,
            clock=scan.clock,
            options=options.model_dump(mode="json"),
            mapping=mapping,
            fps=scan.fps,
            robot_type=scan.robot_type,
            cameras=scan.cameras or sorted({c for e in scan.episodes for c in e.cameras}),
            joint_names=scan.joint_names,
            features=scan.features,
            episode_count=len(scan.episodes),
            frame_count=sum(e.length for e in scan.episodes),
            updated_at=utcnow(),
        )
        await tasks_repo.replace_tasks(session, dataset.id, scan.tasks)
        await episodes_repo.replace_episodes(session, dataset.id, [_episode_values(e) for e in scan.episodes])
        await ctx.finish(
            session,
            summary=IndexingSummary(
                dataset_id=dataset.id,
                format=format,
                episodes=len(scan.episodes),
                frames=dataset.frame_count,
                episodes_missing_data=sum(1 for e in scan.episodes if e.missing),
                # Episodes new since the last registration or whose file changed (readers of formats with
                # a file per episode read only these again).
                changed_episodes=sum(1 for e in scan.episodes if _changed(previous.get(e.file), e)),
                mapped=[m for m in mapping if m.target is not None],
                unmapped=unmapped,
                clock=scan.clock,
            ),
            dataset_id=dataset.id,
            message=f"indexed {len(scan.episodes)} episodes"
            + (f"; {len(unmapped)} source fields left unmapped (see the summary)" if unmapped else ""),
        )
    rt.frame_lookups.clear()  # the index changed: frame requests must see it now


def _changed(before: EpisodeScan | None, now: EpisodeScan) -> bool:
    return before is None or (before.file_size, before.file_mtime) != (now.file_size, now.file_mtime)


def _episode_values(e: EpisodeScan) -> dict:
    return dict(
        index=e.index,
        file=e.file,
        locator=json.dumps(e.locator or {}, sort_keys=True, separators=(",", ":")),
        length=e.length,
        duration=e.duration,
        task_index=e.task_index,
        task_indexes=list(e.task_indexes),
        cameras=e.cameras,
        missing=e.missing,
        file_size=e.file_size,
        file_mtime=e.file_mtime,
    )


async def list_datasets(rt: Runtime, *, after_id: int | None, limit: int) -> list[DatasetRow]:
    async with rt.reads() as session:
        return await datasets_repo.list_datasets(session, after_id=after_id, limit=limit)


async def count_datasets(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return await datasets_repo.count_datasets(session)


async def datasets_by_ids(rt: Runtime, ids: Sequence[int]) -> list[DatasetRow | None]:
    async with rt.reads() as session:
        rows = {r.id: r for r in await datasets_repo.read_datasets_by_ids(session, ids)}
    return [rows.get(i) for i in ids]
