"""importAnnotations: an uploaded annotation file (COCO, YOLO, Pascal VOC, CVAT XML, MOT, annograph JSON, or
a zip of any) into a dataset, all or nothing.

Images map to episode frames through the request's name mapping (domain/objects/transfer/name_mapping.py:
our names by default); class names map to labels. An image with boxes that maps to no frame, a file with no
boxes, or the first problem in the file fails the whole import with the file, the line (or JSON path) and
the reason, and nothing is written. `dry_run` answers the same summary, listing every unmatched name with
its reason, and writes nothing. `mode` says what happens beside the boxes already stored: APPEND adds every
box, MERGE skips a box equal to a stored one (same episode, camera, frame, label and geometry to 1/1000
pixel), REPLACE first deletes the stored boxes of every video (episode and camera) the file has boxes on.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import BinaryIO

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.annotations.drafts import stored_content
from domain.core.episode_events import ObjectChange
from domain.core.errors import BadUserInput, DomainError, LimitExceeded, NotFound
from domain.core.runtime import Runtime
from domain.objects import boxes, labels
from domain.objects.service import announce, open_sessions_of
from domain.objects.transfer.formats import registry
from domain.objects.transfer.formats.model import (
    DEFAULT_COLOR,
    AnnotationSet,
    ExportFormat,
    FormatError,
    TransferOptions,
)
from domain.objects.transfer.import_rows import FIELD, bad, box_values, resolve_images
from domain.objects.transfer.name_mapping import (
    FrameNumbers,
    MappingFileError,
    NameMapping,
    read_mapping_file,
    resolve,
)
from domain.objects.transfer.upload_archive import read_upload
from persistence.columns import utcnow
from persistence.documents import RevisionContent
from persistence.engine import refresh_after_load
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_annotation as annotations_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import segment as segments_repo
from persistence.repositories import user as users_repo
from persistence.tables import EpisodeRow

CHUNK = 5000
UNMATCHED_SHOWN = 20  # names an error lists (the dry run lists all)


class ImportMode(StrEnum):
    APPEND = "APPEND"
    MERGE = "MERGE"
    REPLACE = "REPLACE"


@dataclass(frozen=True)
class ImportRequest:
    """One import. `content` is the upload (bytes, or a seekable binary file: a zip is read member by
    member, its images never). The name mapping: `episode_id` and `camera` (or `camera_folders`) for
    names that carry only a frame, `frames` and `first_frame_number` for how, `mapping_file` (name, bytes)
    for anything else."""

    dataset_id: int
    file_name: str
    content: bytes | BinaryIO
    format: ExportFormat | None = None  # detected from the content when absent
    create_missing_labels: bool = False
    mode: ImportMode = ImportMode.APPEND
    dry_run: bool = False
    episode_id: int | None = None
    camera: str | None = None
    camera_folders: bool = False
    frames: FrameNumbers = FrameNumbers.FROM_NAME
    first_frame_number: int = 0
    mapping_file: tuple[str, bytes] | None = None
    voc_one_based: bool = False


@dataclass
class ImportSummary:
    format: ExportFormat
    images: int = 0  # names mapped to frames
    boxes: int = 0  # boxes added (or, in a dry run, that would be)
    tracks: int = 0
    episodes: int = 0
    episode_annotations: int = 0
    segments: int = 0  # time segments added (annograph JSON)
    segment_labels_created: list[str] = field(default_factory=list)
    labels_created: list[str] = field(default_factory=list)
    dry_run: bool = False
    skipped: int = 0  # MERGE: boxes equal to stored ones, not added again
    replaced: int = 0  # REPLACE: stored boxes deleted first
    unmatched: dict[str, str] = field(default_factory=dict)  # name -> why it maps to no frame
    dropped: dict[str, int] = field(default_factory=dict)  # what the file had that boxes cannot carry
    splits: list[str] = field(default_factory=list)


def _parse(
    req: ImportRequest, mapping: NameMapping, episodes: dict[int, EpisodeRow], limit: int
) -> tuple[ExportFormat, AnnotationSet, int]:
    """(format, what the file holds, how many annotation files it had) — read in a thread."""
    files, images = read_upload(req.file_name, req.content, limit, FIELD)
    fmt = req.format or registry.detect_format(files)
    if fmt is None:
        raise bad(
            f"{req.file_name}: not a COCO, YOLO, Pascal VOC, CVAT XML, MOT or annograph JSON file "
            "(or zip of one)",
            file=req.file_name,
        )
    annotation_files = len(files)
    for image in images:
        files.setdefault(image, b"")  # names only, so readers can match label files to images
    sizes: dict[str, tuple[int, int] | None] = {}

    def size_of(name: str) -> tuple[int, int] | None:
        if name not in sizes:
            place = resolve([name], mapping).mapped.get(name)
            episode = episodes.get(place.episode_index) if place else None
            shape = boxes.camera_shape(episode.cameras, place.camera) if episode and place else None
            sizes[name] = (shape[2], shape[1]) if shape else None
        return sizes[name]

    try:
        data = registry.reader(fmt).read(files, size_of, TransferOptions(voc_one_based=req.voc_one_based))
    except FormatError as exc:
        raise bad(str(exc), file=exc.file, line=exc.line, where=exc.where) from None
    return fmt, data, annotation_files


async def import_annotations(rt: Runtime, viewer: Viewer, req: ImportRequest) -> ImportSummary:
    """Import the file into the dataset, all or nothing (or, with dry_run, only say what it would do).
    The dataset, its episodes, labels and users, the checks and the writes are one transaction (the file
    is parsed inside it: what it is checked against is what it is written into). NOT_FOUND (dataset_id,
    name_mapping.episode_id); BAD_USER_INPUT (file, name_mapping.*) naming the file, line or place of
    the first problem, or the names that map to no frame (extensions.unmatched); LIMIT_EXCEEDED
    (importBoxes)."""
    values: list[dict] = []
    async with rt.sessions() as session:
        try:
            async with session.begin():
                summary, ids, open_sessions = await _import(rt, session, req, viewer, values)
        except IntegrityError:
            # The unique (episode, track, camera, frame) index caught a box on an existing track's
            # frame: name it, read after the rollback. (Checking every key up front cost a third of a
            # large import.)
            await _name_clash(session, values, req.file_name)
            raise
    if summary.dry_run:
        return summary
    grouped: dict[int, list[int]] = defaultdict(list)
    for box_id, value in zip(ids, values, strict=True):
        grouped[value["episode_id"]].append(box_id)
    await announce(rt, viewer.user_id, ObjectChange.IMPORTED, dict(grouped), open_sessions)
    return summary


async def _mapping(session: AsyncSession, req: ImportRequest, episodes: dict[int, EpisodeRow]) -> NameMapping:
    """The request's name mapping, its chosen episode and camera checked against the dataset."""
    index = None
    if req.episode_id is not None:
        chosen = next((e for e in episodes.values() if e.id == req.episode_id), None)
        if chosen is None:
            raise NotFound(
                f"episode {req.episode_id} is not an episode of the dataset", field="name_mapping.episode_id"
            )
        index = chosen.index
        if req.camera is not None and boxes.camera_shape(chosen.cameras, req.camera) is None:
            raise BadUserInput(
                f"camera {req.camera!r} is not a camera of episode {chosen.index} "
                f"({', '.join(sorted(chosen.cameras))})",
                field="name_mapping.camera",
            )
    elif req.camera is not None or req.camera_folders:
        raise BadUserInput(
            "a camera needs the episode its frames belong to (episode_id)", field="name_mapping.episode_id"
        )
    if req.first_frame_number < 0:
        raise BadUserInput(
            f"first_frame_number must be 0 or more, got {req.first_frame_number}",
            field="name_mapping.first_frame_number",
        )
    table = {}
    if req.mapping_file is not None:
        try:
            table = await asyncio.to_thread(read_mapping_file, *req.mapping_file)
        except MappingFileError as exc:
            raise BadUserInput(str(exc), field="name_mapping.mapping_file") from None
    return NameMapping(
        episode_index=index,
        camera=req.camera,
        camera_folders=req.camera_folders,
        frames=req.frames,
        first_frame_number=req.first_frame_number,
        table=table,
    )


async def _import(
    rt: Runtime, session: AsyncSession, req: ImportRequest, viewer: Viewer, values: list[dict]
) -> tuple[ImportSummary, list[int], dict[int, list[int]]]:
    """Read, check and write the import in the caller's transaction, filling `values` with the boxes'
    row values: the summary, the new box ids (in the order of `values`) and the open annotation
    sessions of the episodes given boxes."""
    dataset = await datasets_repo.read_dataset(session, req.dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {req.dataset_id} does not exist", field="dataset_id")
    pages = await episodes_repo.list_episode_pages(
        session, [dataset.id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=10**9
    )
    stored_labels = {r.name: r.id for r in await labels_repo.read_labels_by_datasets(session, [dataset.id])}
    episodes = {e.index: e for e in pages[dataset.id]}
    mapping = await _mapping(session, req, episodes)
    limit = rt.settings.max_unpacked_bytes
    fmt, data, files = await asyncio.to_thread(_parse, req, mapping, episodes, limit)
    if not data.boxes and not data.episode_annotations and not data.segments:
        raise bad(
            f"{req.file_name}: no boxes in {files} annotation file{'s' if files != 1 else ''} read as "
            f"{fmt.value}; nothing was imported (is it the format you meant?)",
            file=req.file_name,
        )
    if len(data.boxes) > rt.settings.max_import_boxes:
        raise LimitExceeded(
            f"file: {len(data.boxes)} boxes, more than {rt.settings.max_import_boxes} in one import "
            "(ANNOGRAPH_MAX_IMPORT_BOXES): split the file",
            limit="importBoxes",
            field=FIELD,
        )
    targets, unmatched = await asyncio.to_thread(resolve_images, data, episodes, mapping)
    with_boxes = {b.file_name for b in data.boxes}
    blocking = [name for name in unmatched if name in with_boxes]
    if blocking and not req.dry_run:
        shown = [{"name": name, "reason": unmatched[name]} for name in blocking[:UNMATCHED_SHOWN]]
        raise BadUserInput(
            f"{req.file_name}: {len(blocking)} image{'s' if len(blocking) != 1 else ''} with boxes "
            f"map{'s' if len(blocking) == 1 else ''} to no frame; the first, {blocking[0]!r}, "
            f"{unmatched[blocking[0]]}. Nothing was imported (dryRun lists them all)",
            field=FIELD,
            file=req.file_name,
            where=blocking[0],
            unmatched=shown,
        )
    missing = [lab for lab in dict.fromkeys(b.label for b in data.boxes) if lab not in stored_labels]
    if missing and not req.create_missing_labels:
        raise bad(
            f"labels {missing} are not in the dataset's label set (set createMissingLabels to add them)",
            file=req.file_name,
        )
    reviewers = {b.reviewed_by for b in data.boxes if b.reviewed_by}
    annotators = {a.get("annotator") for a in data.episode_annotations} | {
        s["annotator"] for s in data.segments
    }
    users = {
        u.name: u.id
        for u in await users_repo.read_users_by_names(session, sorted(n for n in reviewers | annotators if n))
    }
    values += await asyncio.to_thread(box_values, data, targets, users, viewer.user_id, req.file_name)
    summary = ImportSummary(
        format=fmt,
        images=len(targets),
        dry_run=req.dry_run,
        unmatched=unmatched,
        dropped=dict(data.dropped),
        splits=sorted({b.split for b in data.boxes if b.split is not None}),
    )
    stored = await _stored_boxes(session, values, stored_labels) if req.mode != ImportMode.APPEND else {}
    if req.mode == ImportMode.MERGE:
        kept = [v for v in values if _same(v) not in stored]
        summary.skipped = len(values) - len(kept)
        values[:] = kept
    elif req.mode == ImportMode.REPLACE:
        summary.replaced = len({i for ids in stored.values() for i in ids})
    summary.boxes = len(values)
    summary.episodes = len({v["episode_id"] for v in values})
    if req.dry_run:
        summary.labels_created = missing
        summary.tracks = len({(v["episode_id"], v["camera"], v["track_id"] or id(v)) for v in values})
        return summary, [], {}
    if req.mode == ImportMode.REPLACE and stored:
        await boxes_repo.delete_boxes(session, sorted({i for ids in stored.values() for i in ids}))
    ids = await _store(session, req, data, dataset.id, missing, values, episodes, users, summary)
    # REPLACE deleted only boxes of the videos it writes to: their episodes are the ones told.
    open_sessions = await open_sessions_of(session, {v["episode_id"] for v in values})
    return summary, ids, open_sessions


def _videos(values: list[dict]) -> set[tuple[int, str]]:
    return {(v["episode_id"], v["camera"]) for v in values}


def _same(value: dict) -> tuple:
    """What makes two boxes the same box for MERGE: where, what, and the geometry to 1/1000 pixel."""
    return (
        value["episode_id"],
        value["camera"],
        value["frame"],
        value["label"],
        *(round(value[k] * 1000) for k in ("x", "y", "width", "height")),
    )


async def _stored_boxes(
    session: AsyncSession, values: list[dict], stored_labels: dict[str, int]
) -> dict[tuple, list[int]]:
    """The stored boxes of the videos the import has boxes on, by _same key: their ids."""
    names = {label_id: name for name, label_id in stored_labels.items()}
    found: dict[tuple, list[int]] = defaultdict(list)
    for row in await boxes_repo.read_video_boxes(session, sorted(_videos(values))):
        key = {
            "episode_id": row.episode_id,
            "camera": row.camera,
            "frame": row.frame,
            "label": names.get(row.label_id),
            "x": row.x,
            "y": row.y,
            "width": row.width,
            "height": row.height,
        }
        found[_same(key)].append(row.id)
    return found


async def _store(session, req, data, dataset_id, missing, values, episodes, users, summary) -> list[int]:
    """Labels, boxes and episode annotations, in the caller's transaction; the new box ids in order."""
    # Only our JSON carries real colours; the readers' grey gives way to the default palette.
    wanted = [
        (lab.name, lab.color if lab.color != DEFAULT_COLOR else None, lab.parent)
        for lab in data.labels
        if lab.name in missing
    ]
    wanted += [(name, None, None) for name in missing if name not in {w[0] for w in wanted}]
    label_ids, created = await labels.ensure_labels(session, dataset_id, wanted)
    summary.labels_created = [r.name for r in created]
    for value in values:
        value["label_id"] = label_ids[value["label"]]
    await _check_tracks(session, values, req.file_name)
    await _number_tracks(session, values)
    for value in values:
        del value["label"]
    summary.tracks = len({(v["episode_id"], v["camera"], v["track_id"]) for v in values})
    ids: list[int] = []
    for start in range(0, len(values), CHUNK):
        ids += await boxes_repo.insert_boxes(session, values[start : start + CHUNK])
    await refresh_after_load(session, "object_annotation", len(ids))
    summary.episode_annotations = await _import_episode_annotations(
        session, data, episodes, users, req.file_name
    )
    summary.segments = await _import_segments(
        session, data, dataset_id, episodes, users, req.file_name, summary
    )
    return ids


async def _import_segments(
    session, data: AnnotationSet, dataset_id: int, episodes, users, file: str, summary
) -> int:
    """annograph JSON's segment vocabulary (labels it lacks are created as the file has them; one it has
    keeps its own colour) and time segments: new ones are added with their version and times, ones equal
    to a stored segment of the same annotator skipped."""
    stored = {r.name: r for r in await segments_repo.read_segment_labels_by_datasets(session, [dataset_id])}
    for lab in data.segment_labels:
        if lab["name"] not in stored:
            values = {"dataset_id": dataset_id, "name": lab["name"], "color": lab["color"].lower()}
            stored[lab["name"]] = await segments_repo.insert_segment_label(
                session, {**values, "may_overlap": lab["mayOverlap"]}
            )
            summary.segment_labels_created.append(lab["name"])
    rows = (
        await segments_repo.read_segments_by_episodes(session, [e.id for e in episodes.values()])
        if data.segments
        else []
    )
    existing = {
        (r.episode_id, r.annotator_id, r.label_id, r.from_frame, r.to_frame, r.instruction, r.notes)
        for r in rows
    }
    # Each annotator's segments per episode, stored and added: the vocabulary's overlap rule holds for
    # imported segments as for those marked in the graph (domain/segments/service.py).
    held: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for r in rows:
        held.setdefault((r.episode_id, r.annotator_id), []).append((r.from_frame, r.to_frame, r.label_id))
    by_id = {r.id: r for r in stored.values()}
    count = 0
    for i, entry in enumerate(data.segments):
        where = f"segments[{i}]"
        episode = episodes.get(entry["episodeIndex"])
        annotator = users.get(entry["annotator"])
        if episode is None or annotator is None:
            raise bad(
                f"{file}: {where}: needs an episode of this dataset and a known annotator",
                file=file,
                where=where,
            )
        if entry["toFrame"] >= episode.length:
            raise bad(
                f"{file}: {where}.toFrame: episode {episode.index} has {episode.length} frames, "
                f"got {entry['toFrame']}",
                file=file,
                where=where,
            )
        label = stored[entry["label"]]
        label_id = label.id
        for first, last, other_id in held.get((episode.id, annotator), []):
            other = by_id[other_id]
            if (
                first > entry["toFrame"]
                or entry["fromFrame"] > last
                or (label.may_overlap and other.may_overlap)
            ):
                continue
            if (first, last, other_id) == (entry["fromFrame"], entry["toFrame"], label_id):
                continue  # the same segment again: skipped below when its texts are equal too
            strict = label if not label.may_overlap else other
            raise bad(
                f"{file}: {where}.fromFrame: frames {entry['fromFrame']}..{entry['toFrame']} of "
                f"{entry['annotator']!r} overlap their {other.name!r} segment at frames {first}..{last}; "
                f"{strict.name!r} segments may not overlap others",
                file=file,
                where=f"{where}.fromFrame",
            )
        key = (
            episode.id,
            annotator,
            label_id,
            entry["fromFrame"],
            entry["toFrame"],
            entry["instruction"],
            entry["notes"],
        )
        if key in existing:
            continue
        existing.add(key)
        held.setdefault((episode.id, annotator), []).append((entry["fromFrame"], entry["toFrame"], label_id))
        await segments_repo.insert_segment(
            session,
            {
                "episode_id": episode.id,
                "annotator_id": annotator,
                "label_id": label_id,
                "from_frame": entry["fromFrame"],
                "to_frame": entry["toFrame"],
                "from_time": float(entry["fromTime"]),
                "to_time": float(entry["toTime"]),
                "instruction": entry["instruction"],
                "notes": entry["notes"],
                "version": entry["version"],
                "updated_by": annotator,
            },
        )
        count += 1
    return count


async def _check_tracks(session, values: list[dict], file: str) -> None:
    """One label per track and one box per track and frame, within the file and against the database."""
    track_label: dict[tuple, int] = {}
    frames: set[tuple] = set()
    for i, v in enumerate(values):
        if v["track_id"] is None:
            continue
        key = (v["episode_id"], v["camera"], v["track_id"])
        if track_label.setdefault(key, v["label_id"]) != v["label_id"]:
            raise bad(f"{file}: boxes[{i}]: track {key[2]} has two labels", file=file, where=f"boxes[{i}]")
        frame_key = (v["episode_id"], v["track_id"], v["camera"], v["frame"])
        if frame_key in frames:
            raise bad(
                f"{file}: boxes[{i}]: track {key[2]} has two boxes on frame {v['frame']}",
                file=file,
                where=f"boxes[{i}]",
            )
        frames.add(frame_key)
    stored = await boxes_repo.track_labels(session, list(track_label))
    for key, label_id in track_label.items():
        if key in stored and stored[key] != label_id:
            raise bad(f"{file}: track {key[2]} exists here with another label", file=file, where=key[2])


async def _name_clash(session, values: list[dict], file: str) -> None:
    """After the insert failed: which imported box lands on a frame its track already has."""
    keys = sorted({(v["episode_id"], v["track_id"], v["camera"], v["frame"]) for v in values})
    clashes = await boxes_repo.existing_track_frames(session, keys)
    if clashes:
        episode_id, track, camera, frame = min(clashes)
        raise bad(
            f"{file}: track {track} already has a box on frame {frame} of {camera} "
            f"(episode id {episode_id}); "
            "delete those boxes first or import into other episodes",
            file=file,
            where=track,
        )


async def _number_tracks(session, values: list[dict]) -> None:
    """Boxes without a track (YOLO, VOC, foreign COCO) get a new track each."""
    unnamed: dict[int, list[dict]] = defaultdict(list)
    for v in values:
        if v["track_id"] is None:
            unnamed[v["episode_id"]].append(v)
    for episode_id, group in unnamed.items():
        first = await boxes_repo.draw_track_numbers(session, episode_id, len(group))
        for n, v in enumerate(group):
            v["track_id"] = boxes.generated_track_id(v["label"], first + n)


async def _import_episode_annotations(session, data: AnnotationSet, episodes, users, file: str) -> int:
    """annograph JSON's episode annotations: new ones are added, identical ones skipped, others refused."""
    count = 0
    for i, entry in enumerate(data.episode_annotations):
        where = f"episodeAnnotations[{i}]"
        episode = episodes.get(entry.get("episode_index"))
        annotator = users.get(entry.get("annotator"))
        content = entry.get("content")
        if episode is None or annotator is None or not isinstance(content, dict):
            raise bad(
                f"{file}: {where}: needs an episode of this dataset, a known annotator and content",
                file=file,
                where=where,
            )
        try:
            # A file written before a key was renamed reads as today's; the content as a revision holds it.
            content = RevisionContent.model_validate(stored_content(content))
        except ValidationError as exc:
            error = exc.errors()[0]
            path = ".".join(str(p) for p in error["loc"])
            raise bad(f"{file}: {where}.content.{path}: {error['msg']}", file=file, where=where) from None
        except ValueError as exc:
            raise bad(f"{file}: {where}.content.{exc}", file=file, where=where) from None
        current = await annotations_repo.read_annotation(session, episode.id, annotator)
        if current is not None:
            revisions = await annotations_repo.read_revisions_at(session, [(current.id, current.version)])
            if revisions and revisions[0].content == content:
                continue
            raise bad(
                f"{file}: {where}: {entry['annotator']} has another annotation of episode {episode.index} "
                "here; nothing was imported",
                file=file,
                where=where,
            )
        columns = content.model_dump(exclude={"anomalies"}, exclude_unset=True)  # the keys given
        now = utcnow()
        try:
            annotation_id = await annotations_repo.insert_annotation(
                session,
                {
                    **columns,
                    "episode_id": episode.id,
                    "annotator_id": annotator,
                    "version": entry["version"],
                    "updated_by": annotator,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        except (TypeError, DomainError) as exc:
            raise bad(f"{file}: {where}: {exc}", file=file, where=where) from None
        await annotations_repo.replace_anomalies(
            session, annotation_id, [a.model_dump() for a in content.anomalies]
        )
        await annotations_repo.add_revision(session, annotation_id, entry["version"], content, annotator)
        count += 1
    return count
