"""exportAnnotations: boxes (and for annograph JSON everything) of a dataset as a zip, run as a Job.

The zip is written under a temporary name in the var dir and renamed when complete; the finished
job names it (`result.artifact`) and the graph gives its download address.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput, Invalid, NotFound
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from domain.datasets.frames import encode_jpeg
from domain.objects.transfer.formats import registry
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    ImageEntry,
    LabelEntry,
    TransferOptions,
    image_file_name,
)
from persistence.documents import AnnotationExportParameters
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_annotation as annotations_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import segment as segments_repo
from persistence.repositories import user as users_repo
from persistence.tables import DatasetRow, EpisodeRow, JobRow


class ExportRequest(BaseModel):
    """What to export: a dataset or some of its episodes (exactly one of the two), in one format;
    only some cameras, only validated boxes, with the frames or not.

    negatives: also list the frames without a box (background images, as Ultralytics counts them):
    every frame of the selected episodes and cameras, so as many images as the selection has frames
    (an entry each in memory and in the file, and a JPEG each with include_images).
    voc_one_based: Pascal VOC coordinates as the 1-based devkit reads them (TransferOptions)."""

    model_config = ConfigDict(frozen=True)

    format: ExportFormat
    dataset_id: int | None = None
    episode_ids: tuple[int, ...] | None = None
    cameras: tuple[str, ...] | None = None
    only_validated: bool = False
    include_images: bool = False
    negatives: bool = False
    voc_one_based: bool = False

    @field_validator("episode_ids")
    @classmethod
    def _some_episodes(cls, episode_ids: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if episode_ids is not None and not episode_ids:
            raise ValueError("must not be empty")
        return episode_ids

    @model_validator(mode="after")
    def _one_selection(self) -> ExportRequest:
        if (self.dataset_id is None) == (self.episode_ids is None):
            raise Invalid("give exactly one of a dataset and episodes", field="dataset_id")
        return self


def artifact_dir(rt: Runtime) -> Path:
    return rt.settings.var_dir / "artifacts"


def artifact_path(rt: Runtime, job_id: int, name: str) -> Path:
    return artifact_dir(rt) / f"job_{job_id}" / name


async def _selection(rt: Runtime, req: ExportRequest) -> tuple[DatasetRow, list[EpisodeRow]]:
    async with rt.sessions() as session:
        if req.episode_ids is not None:
            episodes = await episodes_repo.read_episodes_by_ids(session, list(req.episode_ids))
            missing = sorted(set(req.episode_ids) - {e.id for e in episodes})
            if missing:
                raise NotFound(f"episodes {missing} do not exist", field="episode_ids")
            if len({e.dataset_id for e in episodes}) > 1:
                raise BadUserInput("episode_ids must all be of one dataset", field="episode_ids")
            dataset = await datasets_repo.read_dataset(session, episodes[0].dataset_id)
            assert dataset is not None  # the episodes' dataset (a foreign key)
        else:
            assert req.dataset_id is not None  # exactly one of the two is given (the model's check)
            dataset = await datasets_repo.read_dataset(session, req.dataset_id)
            if dataset is None:
                raise NotFound(f"dataset {req.dataset_id} does not exist", field="dataset_id")
            pages = await episodes_repo.list_episode_pages(
                session, [dataset.id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10**9
            )
            episodes = pages[dataset.id]
    unknown = sorted(set(req.cameras or ()) - set(dataset.cameras))
    if unknown:
        raise BadUserInput(
            f"cameras: {unknown} are not cameras of the dataset ({', '.join(dataset.cameras)})",
            field="cameras",
        )
    return dataset, sorted(episodes, key=lambda e: e.index)


async def export_annotations(rt: Runtime, viewer: Viewer, req: ExportRequest) -> JobRow:
    """Check the request now (clear errors before any job exists), then export as a job."""
    dataset, episodes = await _selection(rt, req)
    parameters = AnnotationExportParameters(
        format=req.format.value,
        dataset_id=dataset.id,
        episode_ids=[e.id for e in episodes] if req.episode_ids is not None else None,
        cameras=list(req.cameras) if req.cameras else None,
        only_validated=req.only_validated,
        include_images=req.include_images,
        negatives=req.negatives,
        voc_one_based=req.voc_one_based,
        requested_by=viewer.user_id,
    )

    # The runner commits the job in its own transaction (a version another process took is retried);
    # `run_export_job` rebuilds the work from the stored parameters, here or in a worker.
    return await rt.jobs.submit(
        kind=JobKind.EXPORT,
        target=f"export:dataset:{dataset.id}",
        body=registered_body(rt),
        parameters=parameters,
        dataset_id=dataset.id,
    )


@register(JobKind.EXPORT, AnnotationExportParameters)
async def run_export_job(rt: Runtime, ctx: JobContext) -> None:
    """An annotation export rebuilt from its job's parameters (the selection read again)."""
    stored = ctx.job.parameters.as_kind(AnnotationExportParameters)
    assert stored is not None  # the registry chose this function for these parameters
    req = ExportRequest(
        format=ExportFormat(stored.format),
        dataset_id=stored.dataset_id if stored.episode_ids is None else None,
        episode_ids=tuple(stored.episode_ids) if stored.episode_ids is not None else None,
        cameras=tuple(stored.cameras) if stored.cameras else None,
        only_validated=stored.only_validated,
        include_images=stored.include_images,
        negatives=stored.negatives,
        voc_one_based=stored.voc_one_based,
    )
    dataset, episodes = await _selection(rt, req)
    await _run(rt, ctx, req, dataset, episodes)


async def gather(
    rt: Runtime, req: ExportRequest, dataset: DatasetRow, episodes: list[EpisodeRow]
) -> AnnotationSet:
    """The neutral form of what the request selects (boxes read as plain named rows, in a few statements).
    Images are the frames with a box; with `negatives`, every frame of the selected episodes and cameras,
    by episode, camera and frame (one pass over the frames, each looked up once)."""
    by_id = {e.id: e for e in episodes}
    async with rt.sessions() as session:
        label_rows = await labels_repo.read_labels_by_datasets(session, [dataset.id])
        rows = await boxes_repo.read_export_rows(session, list(by_id), req.cameras, req.only_validated)
        reviewer_ids = {r.reviewed_by for r in rows if r.reviewed_by is not None}
        annotations = []
        segment_labels, segments = [], []
        if req.format == ExportFormat.ANNOGRAPH:
            annotations = await annotations_repo.read_annotations_by_episodes(session, list(by_id))
            reviewer_ids |= {a.annotator_id for a in annotations}
            segment_labels = await segments_repo.read_segment_labels_by_datasets(session, [dataset.id])
            segments = await segments_repo.read_segments_by_episodes(session, list(by_id))
            reviewer_ids |= {s.annotator_id for s in segments}
        revisions = await annotations_repo.read_revisions_at(
            session, [(a.id, a.version) for a in annotations]
        )
        users = {u.id: u.name for u in await users_repo.read_users_by_ids(session, list(reviewer_ids))}
    labels = {r.id: r for r in label_rows}
    data = AnnotationSet(
        labels=[
            LabelEntry(r.name, r.color, labels[r.parent_id].name if r.parent_id in labels else None)
            for r in label_rows
        ],
        dataset={"name": dataset.name, "fps": dataset.fps},
    )
    images: dict[tuple, ImageEntry] = {}
    for r in rows:
        episode = by_id[r.episode_id]
        image = images.get((r.episode_id, r.camera, r.frame))
        if image is None:
            _, height, width = episode.cameras[r.camera]
            name = image_file_name(episode.index, r.camera, r.frame)
            image = images[(r.episode_id, r.camera, r.frame)] = ImageEntry(
                name, episode.index, r.camera, r.frame, width, height
            )
        data.boxes.append(
            BoxEntry(
                image.file_name,
                labels[r.label_id].name,
                r.x,
                r.y,
                r.width,
                r.height,
                track_id=r.track_id,
                occluded=r.occluded,
                truncated=r.truncated,
                difficult=r.difficult,
                outside=r.outside,
                source=r.source,
                score=r.score,
                keyframe=r.keyframe,
                notes=r.notes,
                review=r.review,
                reviewed_by=users.get(r.reviewed_by) if r.reviewed_by is not None else None,
                reviewed_at=r.reviewed_at.isoformat() if r.reviewed_at else None,
                reject_reason=r.reject_reason,
                crowd=r.crowd,
                attributes=r.attributes,
                split=r.split,
            )
        )
    data.images = list(_with_negatives(images, episodes, req.cameras) if req.negatives else images.values())
    # Where each video ends (CVAT's <size> and stop_frame, MOT's seqLength, a one-box track's closing mark).
    data.video_lengths = {
        (e.index, camera): int(shape[0])
        for e in episodes
        for camera, shape in e.cameras.items()
        if not req.cameras or camera in req.cameras
    }
    # Exported under today's key names, whichever names the revision was saved with.
    contents = {(r.annotation_id, r.version): r.content.stored() for r in revisions}
    data.episode_annotations = [
        {
            "episode_index": by_id[a.episode_id].index,
            "annotator": users.get(a.annotator_id),
            "version": a.version,
            "content": contents.get((a.id, a.version)),
        }
        for a in annotations
    ]
    segment_names = {r.id: r.name for r in segment_labels}
    data.segment_labels = [
        {"name": r.name, "color": r.color, "mayOverlap": r.may_overlap} for r in segment_labels
    ]
    data.segments = [
        {
            "episodeIndex": by_id[s.episode_id].index,
            "annotator": users.get(s.annotator_id),
            "label": segment_names[s.label_id],
            "fromFrame": s.from_frame,
            "toFrame": s.to_frame,
            "fromTime": s.from_time,
            "toTime": s.to_time,
            "instruction": s.instruction,
            "notes": s.notes,
            "version": s.version,
        }
        for s in segments
    ]
    return data


def _with_negatives(
    images: dict[tuple, ImageEntry], episodes: list[EpisodeRow], cameras: tuple[str, ...] | None
) -> Iterator[ImageEntry]:
    """Every frame of the episodes' cameras (`cameras`, all when None) as an image, by episode, camera and
    frame: those with boxes as `images` has them (keyed (episode id, camera, frame)), the others new."""
    for episode in episodes:
        for camera in sorted(episode.cameras):
            if cameras and camera not in cameras:
                continue
            frames, height, width = episode.cameras[camera]
            for frame in range(frames):
                entry = images.get((episode.id, camera, frame))
                if entry is None:
                    name = image_file_name(episode.index, camera, frame)
                    entry = ImageEntry(name, episode.index, camera, frame, width, height)
                yield entry


def _image_paths(fmt: ExportFormat, data: AnnotationSet) -> Iterable[tuple[ImageEntry, str]]:
    """(image, its path in the zip): the format's own layout (COCO's images/<subset>/) or its image
    folder and the image's name."""
    module = registry.writer(fmt)
    own = getattr(module, "image_paths", None)
    if own is not None:
        return own(data)
    folder = registry.image_dir(fmt)
    return ((entry, f"{folder}/{entry.file_name}") for entry in data.images)


def write_zip(
    path: Path,
    fmt: ExportFormat,
    data: AnnotationSet,
    image: Callable[[ImageEntry], bytes] | None,
    progress: Callable[[float], None],
    options: TransferOptions = TransferOptions(),
) -> dict:
    """Write the export zip to `path` (via a temporary name); returns the fidelity report."""
    module = registry.writer(fmt)
    tmp = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            fidelity = module.write(data, zf.writestr, options)
            progress(0.1 if image else 0.9)
            if image is not None:
                total = max(len(data.images), 1)
                for i, (entry, member) in enumerate(_image_paths(fmt, data)):
                    # JPEGs are compressed already: stored, not deflated again.
                    zf.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), image(entry))
                    progress(0.1 + 0.85 * min(i + 1, total) / total)
            elif getattr(module, "image_paths", None) is not None:
                # Without the frames, the folders they go in (COCO's images/<subset>/): datumaro recognises a
                # COCO export by its images folder.
                folders = dict.fromkeys(member.rsplit("/", 1)[0] for _, member in _image_paths(fmt, data))
                for folder in folders:
                    zf.writestr(zipfile.ZipInfo(folder + "/", date_time=(2020, 1, 1, 0, 0, 0)), b"")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return fidelity.as_dict()


async def _run(
    rt: Runtime, ctx: JobContext, req: ExportRequest, dataset: DatasetRow, episodes: list[EpisodeRow]
) -> None:
    await ctx.progress(0.0, "reading annotations")
    # Read apart from the job's outcome below: writing the zip between takes minutes.
    data = await gather(rt, req, dataset, episodes)
    by_index = {e.index: e for e in episodes}
    loop = asyncio.get_running_loop()

    def report(fraction: float) -> None:
        asyncio.run_coroutine_threadsafe(ctx.progress(fraction * 0.95, "writing"), loop)

    def image(entry: ImageEntry) -> bytes:
        episode = by_index[entry.episode_index]
        pixels = rt.files.read_frame(episode_ref(dataset, episode), entry.camera, entry.frame)
        return encode_jpeg(pixels, None, 95)

    # An "outside" box says the object is out of view: a training format would read it as an object.
    # Track formats carry it (CVAT's outside keyframes; MOT ends a track segment there).
    hidden = 0
    if req.format not in (ExportFormat.ANNOGRAPH, ExportFormat.CVAT, ExportFormat.MOT):
        visible = [b for b in data.boxes if not b.outside]
        hidden, data = len(data.boxes) - len(visible), replace(data, boxes=visible)
        if hidden and not req.negatives:  # a frame left without boxes is a background image: not asked for
            on = {b.file_name for b in visible}
            data = replace(data, images=[m for m in data.images if m.file_name in on])
    name = f"annotations_{req.format.value.lower()}.zip"
    path = artifact_path(rt, ctx.job.id, name)
    options = TransferOptions(voc_one_based=req.voc_one_based, negatives=req.negatives)
    fidelity = await asyncio.to_thread(
        write_zip, path, req.format, data, image if req.include_images else None, report, options
    )
    if hidden:
        fidelity["lost"].append(f"{hidden:,} outside keyframe(s) (the track left the view): left out")
    summary = {
        "boxes": len(data.boxes),
        "images": len(data.images),
        "episodes": len(episodes),
        "format": req.format.value,
        "bytes": path.stat().st_size,
        "fidelity": fidelity,
    }
    async with rt.sessions() as session, session.begin():
        await ctx.finish(
            session, summary=summary, result={"artifact": name, **summary}, dataset_id=dataset.id
        )
