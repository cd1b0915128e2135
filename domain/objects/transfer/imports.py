"""importAnnotations: an uploaded COCO / YOLO / VOC / annograph JSON file into a dataset, all or nothing.

Images map to episode frames by file name (episode_<index>_<camera>_<frame>.jpg, as exports name
them); class names map to labels. The first problem fails the whole import with the file, the line
(or JSON path) and the reason, and nothing is written.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.annotations.drafts import stored_content
from domain.core.episode_events import ObjectChange
from domain.core.errors import BadUserInput, DomainError, LimitExceeded, NotFound
from domain.core.runtime import Runtime
from domain.objects import boxes, labels
from domain.objects.boxes import Review, Source
from domain.objects.service import announce, open_sessions_of
from domain.objects.transfer.formats import registry
from domain.objects.transfer.formats.model import (
    DEFAULT_COLOR,
    AnnotationSet,
    BoxEntry,
    ExportFormat,
    FormatError,
    parse_image_file_name,
)
from domain.objects.transfer.upload_archive import read_upload
from persistence.columns import utcnow
from persistence.documents import RevisionContent
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_annotation as annotations_repo
from persistence.repositories import label as labels_repo
from persistence.repositories import object_annotation as boxes_repo
from persistence.repositories import user as users_repo
from persistence.tables import EpisodeRow

FIELD = "file"  # the uploaded file (domain errors name domain fields: graph/field_paths.py)
CHUNK = 5000


@dataclass(frozen=True)
class ImportRequest:
    dataset_id: int
    file_name: str
    content: bytes
    format: ExportFormat | None = None  # detected from the content when absent
    create_missing_labels: bool = False


@dataclass
class ImportSummary:
    format: ExportFormat
    images: int = 0
    boxes: int = 0
    tracks: int = 0
    episodes: int = 0
    episode_annotations: int = 0
    labels_created: list[str] = field(default_factory=list)


def _bad(
    message: str, *, file: str | None = None, line: int | None = None, where: str | None = None
) -> BadUserInput:
    details = {k: v for k, v in (("file", file), ("line", line), ("where", where)) if v is not None}
    return BadUserInput(message, field=FIELD, **details)


@dataclass
class _Target:
    episode: EpisodeRow
    camera: str
    frame: int
    width: int
    height: int


def _resolve_images(data: AnnotationSet, episodes: dict[int, EpisodeRow], file: str) -> dict[str, _Target]:
    targets: dict[str, _Target] = {}
    for entry in data.images:
        parsed = parse_image_file_name(entry.file_name)
        if parsed is None:
            raise _bad(
                f"{file}: image {entry.file_name!r} is not named episode_<index>_<camera>_<frame>.jpg",
                file=file,
                where=entry.file_name,
            )
        index, camera, frame = parsed
        episode = episodes.get(index)
        if episode is None:
            raise _bad(
                f"{file}: image {entry.file_name!r} names episode {index}, which the dataset lacks",
                file=file,
                where=entry.file_name,
            )
        shape = boxes.camera_shape(episode.cameras, camera)
        if shape is None:
            raise _bad(
                f"{file}: image {entry.file_name!r} names camera {camera!r}, which episode {index} lacks",
                file=file,
                where=entry.file_name,
            )
        if not 0 <= frame < shape[0]:
            raise _bad(
                f"{file}: image {entry.file_name!r}: episode {index} has frames 0..{shape[0] - 1}",
                file=file,
                where=entry.file_name,
            )
        targets[entry.file_name] = _Target(episode, camera, frame, shape[2], shape[1])
    return targets


def _parse(
    req: ImportRequest, episodes: dict[int, EpisodeRow], limit: int
) -> tuple[ExportFormat, AnnotationSet]:
    files, images = read_upload(req.file_name, req.content, limit, FIELD)
    fmt = req.format or registry.detect_format(files)
    if fmt is None:
        raise _bad(
            f"{req.file_name}: not a COCO, YOLO, Pascal VOC or annograph JSON file (or zip of one)",
            file=req.file_name,
        )
    for image in images:
        files.setdefault(image, b"")  # names only, so readers can match label files to images

    def size_of(name: str) -> tuple[int, int] | None:
        parsed = parse_image_file_name(name)
        if parsed is None:
            return None
        episode = episodes.get(parsed[0])
        shape = boxes.camera_shape(episode.cameras, parsed[1]) if episode else None
        return (shape[2], shape[1]) if shape else None

    try:
        return fmt, registry.reader(fmt).read(files, size_of)
    except FormatError as exc:
        raise _bad(str(exc), file=exc.file, line=exc.line, where=exc.where) from None


async def import_annotations(rt: Runtime, viewer: Viewer, req: ImportRequest) -> ImportSummary:
    """Import the file into the dataset, all or nothing. The dataset, its episodes, labels and users,
    the checks and the writes are one transaction (the file is parsed inside it: what it is checked
    against is what it is written into). NOT_FOUND (dataset_id); BAD_USER_INPUT (file)
    naming the file, line or place of the first problem; LIMIT_EXCEEDED (importBoxes)."""
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
    grouped: dict[int, list[int]] = defaultdict(list)
    for box_id, value in zip(ids, values, strict=True):
        grouped[value["episode_id"]].append(box_id)
    await announce(rt, viewer.user_id, ObjectChange.IMPORTED, dict(grouped), open_sessions)
    return summary


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
    existing_labels = {r.name: r.id for r in await labels_repo.read_labels_by_datasets(session, [dataset.id])}
    episodes = {e.index: e for e in pages[dataset.id]}
    limit = rt.settings.max_unpacked_bytes
    fmt, data = await asyncio.to_thread(_parse, req, episodes, limit)
    if len(data.boxes) > rt.settings.max_import_boxes:
        raise LimitExceeded(
            f"file: {len(data.boxes)} boxes, more than {rt.settings.max_import_boxes} in one import "
            "(ANNOGRAPH_MAX_IMPORT_BOXES): split the file",
            limit="importBoxes",
            field=FIELD,
        )
    targets = await asyncio.to_thread(_resolve_images, data, episodes, req.file_name)
    missing = [lab for lab in dict.fromkeys(b.label for b in data.boxes) if lab not in existing_labels]
    if missing and not req.create_missing_labels:
        raise _bad(
            f"labels {missing} are not in the dataset's label set (set createMissingLabels to add them)",
            file=req.file_name,
        )
    reviewers = {b.reviewed_by for b in data.boxes if b.reviewed_by}
    annotators = {a.get("annotator") for a in data.episode_annotations}
    users = {u.name: u.id for u in await _users_by_names(session, reviewers | annotators)}
    values += await asyncio.to_thread(_box_values, data, targets, users, viewer.user_id, req.file_name)
    summary = ImportSummary(
        format=fmt,
        images=len(targets),
        boxes=len(values),
        episodes=len({t.episode.id for t in targets.values()}),
    )
    ids = await _store(session, req, data, dataset.id, missing, values, episodes, users, summary)
    open_sessions = await open_sessions_of(session, {v["episode_id"] for v in values})
    return summary, ids, open_sessions


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
    summary.episode_annotations = await _import_episode_annotations(
        session, data, episodes, users, req.file_name
    )
    return ids


async def _users_by_names(session, names: set[str | None]):
    found = []
    for name in sorted(n for n in names if n):
        row = await users_repo.read_user_by_name(session, name)
        if row is not None:
            found.append(row)
    return found


def _box_values(
    data: AnnotationSet, targets: dict[str, _Target], users: dict[str, int], user_id: int, file: str
) -> list[dict]:
    now = utcnow()
    values = []
    for i, b in enumerate(data.boxes):
        where = f"boxes[{i}]"
        target = targets.get(b.file_name)
        if target is None:
            raise _bad(
                f"{file}: a box lies on image {b.file_name!r}, which the file does not list",
                file=file,
                where=where,
            )
        try:
            boxes.check_geometry(b.x, b.y, b.width, b.height, (target.width, target.height), "box")
            boxes.check_details(track_id=b.track_id, notes=b.notes, score=b.score, path="box")
        except BadUserInput as exc:
            raise _bad(f"{file}: box {i} on {b.file_name}: {exc.message}", file=file, where=where) from None
        values.append(
            {
                "episode_id": target.episode.id,
                "camera": target.camera,
                "frame": target.frame,
                "x": float(b.x),
                "y": float(b.y),
                "width": float(b.width),
                "height": float(b.height),
                "label": b.label,
                "track_id": b.track_id,
                "occluded": b.occluded,
                "truncated": b.truncated,
                "difficult": b.difficult,
                "outside": b.outside,
                "notes": b.notes,
                "source": _source(b, file, where),
                "score": b.score,
                "keyframe": b.keyframe,
                **_extras(b, file, where),
                "version": 1,
                **_review(b, users, file, where),
                "created_by": user_id,
                "created_at": now,
                "updated_by": user_id,
                "updated_at": now,
            }
        )
    return values


def _source(b: BoxEntry, file: str, where: str) -> str:
    try:
        return Source(b.source).value
    except ValueError:
        raise _bad(f"{file}: {where}: unknown source {b.source!r}", file=file, where=where) from None


SPLIT_MAX = 100  # characters: the width of object_annotation.split
ATTRIBUTE_NAME_MAX = 100


def _extras(b: BoxEntry, file: str, where: str) -> dict:
    """crowd, attributes and split as stored. A split has 1-100 characters; an attribute a name of 1-100
    characters and a plain value (true/false, an integer, a finite number, a string); no text holds NUL
    (PostgreSQL refuses it). The readers keep only plain values: these checks catch a reader's slip."""
    split, attributes = b.split, b.attributes
    if split is not None and not (0 < len(split) <= SPLIT_MAX and "\x00" not in split):
        raise _bad(
            f"{file}: {where}: split must have 1-{SPLIT_MAX} characters, got {split[:40]!r}",
            file=file,
            where=where,
        )
    for name, value in attributes.items():
        plain = (
            (isinstance(value, str) and "\x00" not in value)
            or isinstance(value, int)  # bool too
            or (isinstance(value, float) and math.isfinite(value))
        )
        if not (plain and type(name) is str and 0 < len(name) <= ATTRIBUTE_NAME_MAX and "\x00" not in name):
            raise _bad(
                f"{file}: {where}: attribute {str(name)[:40]!r} must have a name of 1-{ATTRIBUTE_NAME_MAX} "
                f"characters and a plain value (string, number, true/false), got {str(value)[:40]!r}",
                file=file,
                where=where,
            )
    return {"crowd": b.crowd, "attributes": attributes, "split": split}


def _review(b: BoxEntry, users: dict[str, int], file: str, where: str) -> dict:
    try:
        review = Review(b.review)
    except ValueError:
        raise _bad(f"{file}: {where}: unknown review state {b.review!r}", file=file, where=where) from None
    if b.reviewed_by and b.reviewed_by not in users:
        raise _bad(f"{file}: {where}: reviewer {b.reviewed_by!r} is not a user here", file=file, where=where)
    try:
        reviewed_at = datetime.fromisoformat(b.reviewed_at) if b.reviewed_at else None
    except ValueError:
        raise _bad(
            f"{file}: {where}: reviewedAt {b.reviewed_at!r} is not an ISO time", file=file, where=where
        ) from None
    return {
        "review": review.value,
        "reviewed_by": users.get(b.reviewed_by) if b.reviewed_by else None,
        "reviewed_at": reviewed_at,
        "reject_reason": b.reject_reason,
    }


async def _check_tracks(session, values: list[dict], file: str) -> None:
    """One label per track and one box per track and frame, within the file and against the database."""
    track_label: dict[tuple, int] = {}
    frames: set[tuple] = set()
    for i, v in enumerate(values):
        if v["track_id"] is None:
            continue
        key = (v["episode_id"], v["camera"], v["track_id"])
        if track_label.setdefault(key, v["label_id"]) != v["label_id"]:
            raise _bad(f"{file}: boxes[{i}]: track {key[2]} has two labels", file=file, where=f"boxes[{i}]")
        frame_key = (v["episode_id"], v["track_id"], v["camera"], v["frame"])
        if frame_key in frames:
            raise _bad(
                f"{file}: boxes[{i}]: track {key[2]} has two boxes on frame {v['frame']}",
                file=file,
                where=f"boxes[{i}]",
            )
        frames.add(frame_key)
    stored = await boxes_repo.track_labels(session, list(track_label))
    for key, label_id in track_label.items():
        if key in stored and stored[key] != label_id:
            raise _bad(f"{file}: track {key[2]} exists here with another label", file=file, where=key[2])


async def _name_clash(session, values: list[dict], file: str) -> None:
    """After the insert failed: which imported box lands on a frame its track already has."""
    keys = sorted({(v["episode_id"], v["track_id"], v["camera"], v["frame"]) for v in values})
    clashes = await boxes_repo.existing_track_frames(session, keys)
    if clashes:
        episode_id, track, camera, frame = min(clashes)
        raise _bad(
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
            raise _bad(
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
            raise _bad(f"{file}: {where}.content.{path}: {error['msg']}", file=file, where=where) from None
        except ValueError as exc:
            raise _bad(f"{file}: {where}.content.{exc}", file=file, where=where) from None
        current = await annotations_repo.read_annotation(session, episode.id, annotator)
        if current is not None:
            revisions = await annotations_repo.read_revisions_at(session, [(current.id, current.version)])
            if revisions and revisions[0].content == content:
                continue
            raise _bad(
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
            raise _bad(f"{file}: {where}: {exc}", file=file, where=where) from None
        await annotations_repo.replace_anomalies(
            session, annotation_id, [a.model_dump() for a in content.anomalies]
        )
        await annotations_repo.add_revision(session, annotation_id, entry["version"], content, annotator)
        count += 1
    return count
