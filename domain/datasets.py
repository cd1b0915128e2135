"""Datasets: registering folders from under the data roots, and reading them back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from domain.errors import BadUserInput, check_text
from domain.jobs import JobContext, JobKind
from domain.runtime import Runtime
from persistence.columns import utcnow
from persistence.episode_files import (
    DatasetInfo,
    EpisodeFileError,
    EpisodeHeader,
    list_episode_files,
    read_info,
    scan_episode,
)
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import task as tasks_repo
from persistence.settings import Settings
from persistence.tables import DatasetRow, JobRow

FORMAT_HDF5 = "HDF5"


def resolve_dataset_folder(settings: Settings, path: str, field: str = "path") -> Path:
    """The real folder `path` names, which must lie under one of the data roots."""
    folder = Path(check_text(path, field, max_length=4096)).expanduser()
    if not folder.is_absolute():
        folder = settings.data_roots[0] / folder
    folder = folder.resolve()  # symlinks resolved first, so a link cannot escape the roots
    if not any(folder.is_relative_to(root) for root in settings.data_roots):
        roots = ", ".join(str(r) for r in settings.data_roots)
        raise BadUserInput(f"{folder}: outside the data roots ({roots})", field=field)
    if not folder.is_dir():
        raise BadUserInput(f"{folder}: no such folder", field=field)
    return folder


def _check_folder(folder: Path, field: str) -> tuple[DatasetInfo, list[Path]]:
    try:
        info = read_info(folder)
        files = list_episode_files(folder)
    except EpisodeFileError as exc:
        raise BadUserInput(str(exc), field=field) from None
    if not files:
        raise BadUserInput(f"{folder / 'episodes'}: holds no episode_*.hdf5 files", field=field)
    return info, files


async def register_dataset(rt: Runtime, path: str, name: str | None = None, field: str = "path") -> JobRow:
    """Check the folder now (clear errors before any job exists), then index it as a job.

    Registering a folder again re-indexes the same dataset as the next job version.
    """
    if name is not None and name.strip():
        name = check_text(name, "input.name", max_length=200)
    folder = await asyncio.to_thread(resolve_dataset_folder, rt.settings, path, field)
    await asyncio.to_thread(_check_folder, folder, field)
    async with rt.sessions() as session:
        existing = await datasets_repo.read_dataset_by_path(session, str(folder))
    return await rt.jobs.submit(
        kind=JobKind.INDEXING,
        target=f"path:{folder}",
        parameters={"path": str(folder), "name": name},
        dataset_id=existing.id if existing else None,
        body=partial(_index_dataset, rt, folder, name),
    )


async def _index_dataset(rt: Runtime, folder: Path, name: str | None, ctx: JobContext) -> None:
    info, files = await asyncio.to_thread(_check_folder, folder, "path")
    headers: list[EpisodeHeader] = []
    for done, file in enumerate(files, start=1):
        try:
            headers.append(await asyncio.to_thread(scan_episode, folder, file, info.fps))
        except EpisodeFileError as exc:
            raise BadUserInput(f"{folder / exc.path}: {exc.problem}", field="path") from None
        await ctx.progress(done / len(files), f"indexed {done} of {len(files)} episodes")
    indexes = [h.index for h in headers]
    if len(set(indexes)) != len(indexes):
        raise BadUserInput(f"{folder}: two episode files share an index", field="path")
    # Everything was read before the first write: one transaction, nothing half-registered.
    async with rt.sessions() as session, session.begin():
        dataset = await datasets_repo.upsert_dataset(
            session,
            str(folder),
            name=name or info.name,
            format=FORMAT_HDF5,
            fps=info.fps,
            robot_type=info.robot_type,
            cameras=info.cameras or sorted({c for h in headers for c in h.cameras}),
            joint_names=info.joint_names,
            features=info.features,
            episode_count=len(headers),
            frame_count=sum(h.length for h in headers),
            updated_at=utcnow(),
        )
        await tasks_repo.replace_tasks(session, dataset.id, info.tasks)
        await episodes_repo.replace_episodes(
            session,
            dataset.id,
            [
                dict(
                    index=h.index,
                    file=h.file,
                    length=h.length,
                    duration=h.duration,
                    task_index=h.task_index,
                    cameras=h.cameras,
                    missing=h.missing,
                    file_size=h.file_size,
                    file_mtime=h.file_mtime,
                )
                for h in headers
            ],
        )
        await ctx.finish(
            session,
            summary={
                "datasetId": dataset.id,
                "episodes": len(headers),
                "frames": dataset.frame_count,
                "episodesMissingData": sum(1 for h in headers if h.missing),
            },
            dataset_id=dataset.id,
            message=f"indexed {len(headers)} episodes",
        )
    rt.frame_lookups.clear()  # the index changed: frame requests must see it now


async def list_datasets(rt: Runtime, *, after_id: int | None, limit: int) -> list[DatasetRow]:
    async with rt.sessions() as session:
        return await datasets_repo.list_datasets(session, after_id=after_id, limit=limit)


async def count_datasets(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return await datasets_repo.count_datasets(session)


async def datasets_by_ids(rt: Runtime, ids: Sequence[int]) -> list[DatasetRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await datasets_repo.read_datasets_by_ids(session, ids)}
    return [rows.get(i) for i in ids]
