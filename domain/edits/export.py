"""`exportEpisodes`: write edited copies of episodes as a new HDF5 dataset folder, as a job.

Every request is checked before the job starts (episodes exist, edits valid for each). A video episode
is written as `timestamp` (its frames' times) and `observation.images.video`.
The job writes `info.json` (`export_info`: what was exported),
`episodes/episode_NNNNNN.hdf5` (domain.edits.write_edited_episode: frames
in chunks, temporary name then rename) and `annotations.json` (annograph JSON: the episodes' boxes and
episode annotations with frames renumbered and boxes moved by the crop, resize and rotation; boxes that
leave the image or lie on removed frames are dropped and counted). The folder is assembled under a
temporary name and renamed when whole; it becomes a zip to download or a new registered dataset with
its annotations imported.

The job's work is registered (`run_episode_export_job`): it rebuilds the plan from the job's stored
parameters (the episodes read again by index, their stored edits checked again), so the server
(embedded queue) or an `annograph worker` (procrastinate, queue `io`) runs it. An export as a dataset
indexes the written folder in the process that runs the export, never through the queue (`_register`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import shutil
import threading
import zipfile
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import cast

from pydantic import JsonValue, ValidationInfo, field_validator
from pydantic import dataclasses as pydantic_dataclasses

from domain.accounts.users import Viewer, viewer_of
from domain.core.errors import BadUserInput, Conflict, DomainError, NotFound, check_text, inside
from domain.core.job_parts import run_in_parts
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind, JobRunner
from domain.core.runtime import Runtime
from domain.datasets import service as datasets
from domain.datasets.tasks import tasks_by_datasets
from domain.edits import (
    EpisodeEdits,
    WriteSummary,
    kept_frames,
    write_edited_episode,
)
from domain.edits.carry import carry_annotations
from domain.edits.lerobot_export import EpisodeFormat, VideoCodec, default_codec
from domain.edits.lerobot_export_job import lerobot_checks, write_lerobot
from domain.edits.service import checked
from domain.objects.transfer import exports as annotation_export
from domain.objects.transfer import imports as annotation_import
from domain.objects.transfer.formats import annograph_json
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    ExportFormat,
)
from persistence.documents import EpisodeExportParameters, StoredEdits
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_edit as edits_repo
from persistence.repositories import project as projects_repo
from persistence.repositories import user as users_repo
from persistence.tables import DatasetRow, EpisodeRow, JobRow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ExportOutput(StrEnum):
    ZIP = "ZIP"
    DATASET = "DATASET"


@dataclass(frozen=True)
class EpisodeChoice:
    index: int
    edits: dict | None = None  # the JSON form; None: the saved edits when use_saved, else none
    use_saved: bool = False


@dataclass(frozen=True)
class EpisodeSelection:
    """Episodes chosen by the episode filter the graph has (rating, agreement, flagged, annotated by...)
    and, with `project_id`, linked to that project; in index order. `use_saved`: each chosen episode
    with its saved edits, if it has any."""

    filter: episodes_repo.EpisodeFilter = episodes_repo.EpisodeFilter()
    project_id: int | None = None
    use_saved: bool = True


@pydantic_dataclasses.dataclass(frozen=True)
class ExportEpisodesRequest:
    """Episodes of a dataset to write edited, in their new order, as a zip or a new dataset named
    `name` (default <dataset>-edited), in annograph's HDF5 layout or as LeRobot v3.0 (`format`; `codec`
    of its videos, default `default_codec()`). The episodes are a list or a `selection` (not both).
    A pydantic dataclass: the graph checks it as it builds it (graph/inputs.py); the episodes, their
    edits and the name are checked against the dataset."""

    dataset_id: int
    selection: EpisodeSelection | None = None
    episodes: tuple[EpisodeChoice, ...] = ()
    output: ExportOutput = ExportOutput.ZIP
    name: str | None = None
    format: EpisodeFormat = EpisodeFormat.HDF5
    codec: VideoCodec | None = None

    @field_validator("episodes")
    @classmethod
    def _some_episodes(
        cls, episodes: tuple[EpisodeChoice, ...], info: ValidationInfo
    ) -> tuple[EpisodeChoice, ...]:
        selection = info.data.get("selection")
        if not episodes and selection is None:
            raise ValueError("choose at least one episode (or a selection)")
        if episodes and selection is not None:
            raise ValueError("choose episodes by list or by selection, not both")
        return episodes


async def export_episodes(rt: Runtime, viewer: Viewer, req: ExportEpisodesRequest) -> JobRow:
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset(session, req.dataset_id)
        if dataset is None:
            raise NotFound(f"dataset_id: dataset {req.dataset_id} does not exist", field="dataset_id")
        choices = (
            req.episodes if req.selection is None else await _selected(session, dataset.id, req.selection)
        )
        rows = await episodes_repo.read_episodes_by_indexes(session, [(dataset.id, c.index) for c in choices])
        by_index = {r.index: r for r in rows if r is not None}
        saved = {
            r.episode_id: r for r in await edits_repo.read_edits(session, [r.id for r in by_index.values()])
        }
    plan: list[tuple[EpisodeRow, EpisodeEdits]] = []
    seen: set[int] = set()
    for i, choice in enumerate(choices):
        where = inside("episodes", i, "index")
        episode = by_index.get(choice.index)
        if episode is None:
            raise BadUserInput(f"{where}: dataset has no episode {choice.index}", field=where)
        if choice.index in seen:
            raise BadUserInput(f"{where}: episode {choice.index} is chosen twice", field=where)
        seen.add(choice.index)
        _check_cameras(episode, where)
        data: dict | StoredEdits | None = choice.edits  # a client's JSON form, or the saved edits
        if data is None and choice.use_saved:
            if episode.id not in saved:
                use_saved = inside("episodes", i, "use_saved")
                raise BadUserInput(f"{use_saved}: episode {choice.index} has no saved edits", field=use_saved)
            data = saved[episode.id].edits
        plan.append((episode, checked(data or {}, episode, inside("episodes", i, "edits"))))
    name = req.name or f"{dataset.name}-edited"
    if not NAME.match(name):
        raise BadUserInput(
            f"name {name!r}: letters, digits, '.', '_' and '-' only (a folder name)", field="name"
        )
    name = check_text(name, "name", max_length=100)
    target = rt.settings.data_roots[0] / "exports" / name
    if req.output is ExportOutput.DATASET and await asyncio.to_thread(target.exists):
        raise Conflict(f"name: exports/{name} exists; choose another name", field="name")
    codec = req.codec or default_codec()
    if req.format is EpisodeFormat.LEROBOT:
        lerobot_checks(dataset, plan, codec)

    # The runner commits the job in its own transaction (a version another process took is retried);
    # `run_episode_export_job` rebuilds the work from the stored parameters, here or in a worker.
    return await rt.jobs.submit(
        kind=JobKind.EXPORT,
        target=f"export-episodes:dataset:{dataset.id}",
        body=registered_body(rt),
        # `layout` (the request's format) and `video_codec` are keys of this kind's own (JobParameters
        # keeps extra keys; not `format`, which names an annotation export's parameters): a job stored
        # without them is an HDF5 export.
        parameters=EpisodeExportParameters.model_validate(
            {
                "dataset_id": dataset.id,
                "episodes": [{"index": e.index, "edits": edits.to_json()} for e, edits in plan],
                "output": req.output.value,
                "name": name,
                "requested_by": viewer.user_id,
                "layout": req.format.value,
                "video_codec": codec.value,
            }
        ),
        dataset_id=dataset.id,
    )


async def _selected(session, dataset_id: int, selection: EpisodeSelection) -> tuple[EpisodeChoice, ...]:
    """The episodes `selection` picks, by index (BAD_USER_INPUT `selection` when none)."""
    pages = await episodes_repo.list_episode_pages(
        session, [dataset_id], filter=selection.filter, after_index=None, limit=10**9
    )
    rows = pages.get(dataset_id, [])
    if selection.project_id is not None:
        linked = set(await projects_repo.linked_episode_ids(session, selection.project_id))
        rows = [r for r in rows if r.id in linked]
    if not rows:
        raise BadUserInput("selection: no episode of the dataset matches it", field="selection")
    saved = (
        {r.episode_id for r in await edits_repo.read_edits(session, [r.id for r in rows])}
        if selection.use_saved
        else set()
    )
    return tuple(EpisodeChoice(r.index, None, r.id in saved) for r in rows)


def _check_cameras(episode: EpisodeRow, where: str) -> None:
    """Every per-frame array is cut by the same frame indexes: a camera of another length cannot be
    (BAD_USER_INPUT naming `where`)."""
    short = {c: s[0] for c, s in episode.cameras.items() if s[0] != episode.length}
    if short:
        camera, frames = next(iter(short.items()))
        raise BadUserInput(
            f"{where}: episode {episode.index} has {episode.length} frames but camera {camera!r} "
            f"has {frames}: its frames cannot be kept consistently (see the quality report)",
            field=where,
        )


@register(JobKind.EXPORT, EpisodeExportParameters)
async def run_episode_export_job(rt: Runtime, ctx: JobContext) -> None:
    """An episode export rebuilt from its job's parameters: the dataset, the episodes (by index) and
    who asked read again, each episode's stored edits checked again against it (BAD_USER_INPUT when the
    dataset was registered again since and they no longer fit, NOT_FOUND for what is gone)."""
    stored = ctx.job.parameters.as_kind(EpisodeExportParameters)
    assert stored is not None  # the registry chose this function for these parameters
    if stored.dataset_id is None or stored.requested_by is None:
        raise Conflict(f"job {ctx.job.id}: stored without its dataset or requester; export again")
    async with rt.sessions() as session:
        dataset = await datasets_repo.read_dataset(session, stored.dataset_id)
        if dataset is None:
            raise NotFound(f"dataset_id: dataset {stored.dataset_id} does not exist", field="dataset_id")
        rows = await episodes_repo.read_episodes_by_indexes(
            session, [(dataset.id, int(e["index"])) for e in stored.episodes]
        )
        user = await users_repo.read_user(session, stored.requested_by)
    if user is None:
        raise NotFound(f"user {stored.requested_by}, who asked for the export, does not exist")
    by_index = {r.index: r for r in rows}
    plan: list[tuple[EpisodeRow, EpisodeEdits]] = []
    for i, chosen in enumerate(stored.episodes):
        where = inside("episodes", i, "index")
        episode = by_index.get(int(chosen["index"]))
        if episode is None:
            raise NotFound(f"{where}: dataset has no episode {chosen['index']} any more", field=where)
        _check_cameras(episode, where)
        plan.append((episode, checked(chosen.get("edits") or {}, episode, inside("episodes", i, "edits"))))
    target = rt.settings.data_roots[0] / "exports" / stored.name
    output = ExportOutput(stored.output)
    extra = stored.model_extra or {}
    if extra.get("layout") == EpisodeFormat.LEROBOT.value:
        codec = VideoCodec(extra.get("video_codec") or default_codec().value)
        await _run_lerobot(rt, ctx, output, dataset, plan, stored.name, target, codec)
        return
    await _run(rt, ctx, viewer_of(user), output, dataset, plan, stored.name, target)


async def _run(
    rt: Runtime,
    ctx: JobContext,
    viewer: Viewer,
    output: ExportOutput,
    dataset: DatasetRow,
    plan: list[tuple[EpisodeRow, EpisodeEdits]],
    name: str,
    target: Path,
) -> None:
    # A job of minutes: each step reads or writes in its own sessions; the last commits its outcome.
    work = (
        target.with_name(f".{name}.{ctx.job.id}.partial")
        if output is ExportOutput.DATASET
        else annotation_export.artifact_dir(rt) / str(ctx.job.id) / name
    )
    total = sum(len(kept_frames(edits, e.length)) for e, edits in plan)
    # Cancelled or failed (in whichever process ends it): the half-written folder goes too.
    ctx.on_end(lambda: asyncio.to_thread(shutil.rmtree, work, True))

    async def run_item(i: int) -> JsonValue:
        """Write the i-th planned episode (a part run again overwrites its file)."""
        episode, edits = plan[i]
        stop = threading.Event()

        def progress(_done: int, _total: int) -> None:
            if stop.is_set():
                raise asyncio.CancelledError  # unwinds the writer, which removes its partial file

        try:
            written = await asyncio.to_thread(
                write_edited_episode,
                episode_ref(dataset, episode),
                work / "episodes" / f"episode_{i:06d}.hdf5",
                edits,
                progress=progress,
                attrs={"task_index": episode.task_index} if episode.task_index is not None else None,
                source_name=f"{dataset.name} episode {episode.index}",
            )
        except BaseException:
            stop.set()
            raise
        return json.loads(json.dumps(asdict(written)))  # tuples as JSON lists

    async def finish(results: dict[int, JsonValue]) -> None:
        written = [_write_summary(results[i]) for i in range(len(plan))]
        await _finish(rt, ctx, viewer, output, dataset, plan, name, target, work, total, written)

    if not ctx.joining:
        await ctx.progress(0.0, f"0/{len(plan)} episodes")
    # Episodes in parts that several participants write at once (domain/core/job_parts.py); the final
    # step carries the annotations over, writes info.json and zips or registers the folder.
    await run_in_parts(rt, ctx, list(range(len(plan))), run_item, finish, noun="episodes")


async def _run_lerobot(
    rt: Runtime,
    ctx: JobContext,
    output: ExportOutput,
    dataset: DatasetRow,
    plan: list[tuple[EpisodeRow, EpisodeEdits]],
    name: str,
    target: Path,
    codec: VideoCodec,
) -> None:
    """A LeRobot export. Not data-parallel: the LeRobot writer appends episodes one after another to
    shared files (data, meta/episodes and video files several episodes long), so the whole dataset is
    one part of run_in_parts (taken by one participant, taken over if its holder is lost, cancelled
    like any part); the final step zips or registers the folder. Annotations travel inside the
    dataset (meta/episodes columns, subtask_index, meta/anomalies.parquet), not as annotations.json."""
    work = (
        target.with_name(f".{name}.{ctx.job.id}.partial")
        if output is ExportOutput.DATASET
        else annotation_export.artifact_dir(rt) / str(ctx.job.id) / name
    )
    ctx.on_end(lambda: asyncio.to_thread(shutil.rmtree, work, True))

    async def run_item(_: int) -> JsonValue:
        return await write_lerobot(rt, dataset, plan, work, codec)

    async def finish(results: dict[int, JsonValue]) -> None:
        written = cast(dict, results[0])
        summary: dict[str, object] = {
            **written,
            "format": EpisodeFormat.LEROBOT.value,
            "codec": codec.name,
            "output": output.value,
        }
        if output is ExportOutput.ZIP:
            path = annotation_export.artifact_path(rt, ctx.job.id, f"{name}.zip")
            await asyncio.to_thread(_zip, work, path)
            await asyncio.to_thread(shutil.rmtree, work, True)
            result = {"artifact": path.name, **summary}
        else:
            await asyncio.to_thread(work.rename, target)
            try:
                indexed = await _register(rt, target, name)
            except BaseException:
                await asyncio.shield(undo_dataset_export(rt, target, None))
                raise
            summary["datasetId"] = indexed.dataset_id
            result = {"path": str(target.relative_to(rt.settings.data_roots[0])), **summary}
        async with rt.sessions() as session, session.begin():
            frames = summary["frames"]
            await ctx.finish(session, summary=summary, result=result, message=f"{frames}/{frames} frames")

    if not ctx.joining:
        await ctx.progress(0.0, f"writing {len(plan)} episodes as LeRobot v3.0 ({codec.name})")
    await run_in_parts(rt, ctx, [0], run_item, finish, noun="datasets")


def _write_summary(stored: JsonValue) -> WriteSummary:
    value = cast(dict, stored)
    return WriteSummary(
        frames=int(value["frames"]),
        cameras={c: (int(h), int(w)) for c, (h, w) in value["cameras"].items()},
        bytes=int(value["bytes"]),
        datasets={k: (str(d), tuple(int(n) for n in shape)) for k, (d, shape) in value["datasets"].items()},
    )


async def _finish(
    rt: Runtime,
    ctx: JobContext,
    viewer: Viewer,
    output: ExportOutput,
    dataset: DatasetRow,
    plan: list[tuple[EpisodeRow, EpisodeEdits]],
    name: str,
    target: Path,
    work: Path,
    total: int,
    written: list[WriteSummary],
) -> None:
    await ctx.progress(0.9, "carrying annotations over")
    data = await annotation_export.gather(
        rt,
        annotation_export.ExportRequest(format=ExportFormat.ANNOGRAPH, dataset_id=dataset.id),
        dataset,
        [e for e, _ in plan],
    )
    carried, dropped = carry_annotations(data, plan)
    carried = replace(carried, dataset={**carried.dataset, "name": name})
    (tasks,) = await tasks_by_datasets(rt, [dataset.id])
    info = export_info(dataset, tasks, name, plan, written)
    annotations = await asyncio.to_thread(_write_folder_files, work, info, carried)
    summary: dict[str, object] = {
        "episodes": len(plan),
        "frames": total,
        "boxes": len(carried.boxes),
        "episodeAnnotations": len(carried.episode_annotations),
        "dropped": dropped,
        "output": output.value,
    }
    if output is ExportOutput.ZIP:
        path = annotation_export.artifact_path(rt, ctx.job.id, f"{name}.zip")
        await asyncio.to_thread(_zip, work, path)
        await asyncio.to_thread(shutil.rmtree, work, True)
        result = {"artifact": path.name, **summary}
    else:
        await asyncio.to_thread(work.rename, target)
        try:
            indexed = await _register(rt, target, name)
            assert indexed.dataset_id is not None  # an indexing job's dataset
            if carried.boxes or carried.episode_annotations:
                await annotation_import.import_annotations(
                    rt,
                    viewer,
                    annotation_import.ImportRequest(
                        dataset_id=indexed.dataset_id,
                        file_name="annotations.json",
                        content=annotations,
                        format=ExportFormat.ANNOGRAPH,
                        create_missing_labels=True,
                    ),
                )
        except BaseException:
            # All or nothing: no registered dataset without its boxes, and the name free for a rerun.
            await asyncio.shield(undo_dataset_export(rt, target, None))
            raise
        summary["datasetId"] = indexed.dataset_id
        # Relative to the first data root: a job's result is readable by viewers, server paths are not.
        result = {"path": str(target.relative_to(rt.settings.data_roots[0])), **summary}
    async with rt.sessions() as session, session.begin():
        await ctx.finish(session, summary=summary, result=result, message=f"{total}/{total} frames")


async def _register(rt: Runtime, target: Path, name: str) -> JobRow:
    """Register the exported folder and wait for its indexing job, which runs in this process (see
    `_here`). Registration errors quote files by their server path (admins register datasets); the
    reviewer who exported sees exports/<name>."""
    here = _here(rt)
    try:
        job = await datasets.register_dataset(here, str(target), name)
        try:
            indexed = await here.jobs.wait(job.id)
        except asyncio.CancelledError:
            # The export was stopped: its indexing stops too before the export undoes its folder.
            await asyncio.shield(here.jobs.cancel(job.id))
            raise
        why = None if indexed.status == "COMPLETED" else indexed.error_message or indexed.status
    except DomainError as exc:
        why = exc.message
    if why is None:
        return indexed
    why = why.replace(str(target), f"exports/{name}")
    for root in rt.settings.data_roots:
        why = why.replace(str(root), "<data root>")
    raise BadUserInput(f"the exported folder exports/{name} could not be registered: {why}")


def _here(rt: Runtime) -> Runtime:
    """`rt` as the export's registration sees it: every job it submits runs in this process.

    Why: with the procrastinate queue the export itself runs in an `annograph worker`, on a slot of
    queue `io`, and so would the indexing job register_dataset submits (INDEXING is on `io` too). The
    export waits for that indexing while holding its slot: with one io slot (or as many exports as
    slots) the indexing never starts, a deadlock. So the indexing runs here, as part of the export, on
    a runner of its own without a queue (the same database, events and data roots: its job row,
    progress and outcome are written and published as any job's). Without a queue (the embedded
    runner) `rt` runs it in this process already."""
    if rt.jobs.queue is None:
        return rt
    here = copy.copy(rt)  # shares the engine, sessions, events, files and caches
    here.jobs = JobRunner(rt.sessions, rt.events)
    return here


async def undo_dataset_export(rt: Runtime, target: Path, created_since) -> None:
    """Remove what an export as a dataset made: the dataset registered from `target` (if created at or
    after `created_since`) and the folder."""
    async with rt.sessions() as session, session.begin():
        await datasets_repo.delete_dataset_by_path(session, str(target), created_since)
    await asyncio.to_thread(shutil.rmtree, target, True)
    rt.frame_lookups.clear()


async def undo_interrupted_exports(rt: Runtime, jobs: list) -> None:
    """At start: exports as a dataset that a stopped server cut short are undone (the job is FAILED,
    so nothing it made may stay)."""
    for job in jobs:
        parameters = job.parameters.as_kind(EpisodeExportParameters)  # None: an annotation export's
        as_dataset = parameters is not None and parameters.output == ExportOutput.DATASET.value
        if job.kind == JobKind.EXPORT.value and parameters is not None and as_dataset:
            target = rt.settings.data_roots[0] / "exports" / parameters.name
            if job.started_at is not None and target.parent.name == "exports":
                await undo_dataset_export(rt, target, job.started_at)


def export_info(dataset: DatasetRow, tasks: list, name: str, plan, written: list[WriteSummary]) -> dict:
    """`info.json` of the exported folder (DESIGN.md's layout): what was written, not what the source
    holds. Counts, cameras and `features` (dtype and shape per dataset, a dimension null where the
    episodes' edits made it differ) come from the files as written; the tasks are those of the exported
    episodes; `annograph_export` records, per episode, its source index, frames, cameras' sizes and
    edits. The source is named by dataset name and id: server paths stay on the server."""
    features: dict[str, dict] = {}
    for summary in written:
        for key, (dtype, shape) in summary.datasets.items():
            entry = features.setdefault(key, {"dtype": dtype, "shape": list(shape)})
            if len(entry["shape"]) != len(shape):
                entry["shape"] = None
            elif entry["shape"] is not None:
                entry["shape"] = [a if a == b else None for a, b in zip(entry["shape"], shape, strict=True)]
    for key, entry in features.items():  # the source's names of vector components, where they still fit
        described = dataset.features.get(key)  # a format's own description: any JSON
        names = described.get("names") if isinstance(described, dict) else None
        if isinstance(names, list) and entry["shape"] == [len(names)]:
            entry["names"] = names
    used = {e.task_index for e, _ in plan}
    cameras = [c for c in dataset.cameras if any(c in s.cameras for s in written)]
    return {
        "name": name,
        "fps": dataset.fps,
        "robot_type": dataset.robot_type,
        "joint_names": list(dataset.joint_names),
        "cameras": cameras or sorted({c for s in written for c in s.cameras}),
        "tasks": [{"index": t.index, "description": t.description} for t in tasks if t.index in used],
        "total_episodes": len(written),
        "total_frames": sum(s.frames for s in written),
        "features": features,
        "annograph_export": {
            "source": {"dataset": dataset.name, "datasetId": dataset.id},
            "episodes": [
                {
                    "index": i,
                    "sourceIndex": episode.index,
                    "frames": summary.frames,
                    "cameras": {c: list(size) for c, size in summary.cameras.items()},
                    "edits": edits.to_json(),
                }
                for i, ((episode, edits), summary) in enumerate(zip(plan, written, strict=True))
            ],
        },
    }


def _write_folder_files(work: Path, info: dict, carried: AnnotationSet) -> bytes:
    (work / "info.json").write_text(json.dumps(info, indent=2))
    files: dict[str, bytes] = {}
    annograph_json.write(carried, lambda file, content: files.__setitem__(file, content))
    content = next(iter(files.values()))
    (work / "annotations.json").write_bytes(content)
    return content


def _zip(folder: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        # HDF5 images are gzip-compressed already: stored, not deflated again.
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    zf.write(file, f"{folder.name}/{file.relative_to(folder)}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
