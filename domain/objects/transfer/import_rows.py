"""The rows an import writes, from a read file: which frame each image is (by the name mapping), and
each box checked and turned into its object_annotation row. Pure: no database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from domain.core.errors import BadUserInput
from domain.objects import boxes
from domain.objects.boxes import Review, Source
from domain.objects.transfer.formats.model import AnnotationSet, BoxEntry
from domain.objects.transfer.name_mapping import NameMapping, resolve
from persistence.columns import utcnow
from persistence.tables import EpisodeRow

FIELD = "file"  # the uploaded file (domain errors name domain fields: graph/field_paths.py)


def bad(
    message: str, *, file: str | None = None, line: int | None = None, where: str | None = None
) -> BadUserInput:
    details = {k: v for k, v in (("file", file), ("line", line), ("where", where)) if v is not None}
    return BadUserInput(message, field=FIELD, **details)


@dataclass
class Target:
    episode: EpisodeRow
    camera: str
    frame: int
    width: int
    height: int


def resolve_images(
    data: AnnotationSet, episodes: dict[int, EpisodeRow], mapping: NameMapping
) -> tuple[dict[str, Target], dict[str, str]]:
    """(the frame of each name the file uses that maps to one, why each other name maps to none).
    Names are the images the file lists and those its boxes lie on; a name maps when the name mapping
    places it on an episode of the dataset, a camera of that episode and a frame it has."""
    names = [entry.file_name for entry in data.images] + [b.file_name for b in data.boxes]
    resolution = resolve(names, mapping)
    targets: dict[str, Target] = {}
    unmatched = dict(resolution.unmatched)
    for name, place in resolution.mapped.items():
        episode = episodes.get(place.episode_index)
        if episode is None:
            unmatched[name] = f"names episode {place.episode_index}, which the dataset lacks"
            continue
        shape = boxes.camera_shape(episode.cameras, place.camera)
        if shape is None:
            cameras = ", ".join(sorted(episode.cameras))
            unmatched[name] = (
                f"names camera {place.camera!r}, which episode {place.episode_index} lacks ({cameras})"
            )
            continue
        if not 0 <= place.frame < shape[0]:
            unmatched[name] = (
                f"names frame {place.frame}; episode {place.episode_index} has frames 0..{shape[0] - 1}"
            )
            continue
        targets[name] = Target(episode, place.camera, place.frame, shape[2], shape[1])
    return targets, unmatched


def box_values(
    data: AnnotationSet, targets: dict[str, Target], users: dict[str, int], user_id: int, file: str
) -> list[dict]:
    now = utcnow()
    values = []
    for i, b in enumerate(data.boxes):
        where = f"boxes[{i}]"
        target = targets.get(b.file_name)
        if target is None:  # its image maps to no frame: listed as unmatched (the caller refuses them)
            continue
        try:
            boxes.check_geometry(b.x, b.y, b.width, b.height, (target.width, target.height), "box")
            boxes.check_details(track_id=b.track_id, notes=b.notes, score=b.score, path="box")
        except BadUserInput as exc:
            raise bad(f"{file}: box {i} on {b.file_name}: {exc.message}", file=file, where=where) from None
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
        raise bad(f"{file}: {where}: unknown source {b.source!r}", file=file, where=where) from None


SPLIT_MAX = 100  # characters: the width of object_annotation.split
ATTRIBUTE_NAME_MAX = 100


def _extras(b: BoxEntry, file: str, where: str) -> dict:
    """crowd, attributes and split as stored. A split has 1-100 characters; an attribute a name of 1-100
    characters and a plain value (true/false, an integer, a finite number, a string); no text holds NUL
    (PostgreSQL refuses it). The readers keep only plain values: these checks catch a reader's slip."""
    split, attributes = b.split, b.attributes
    if split is not None and not (0 < len(split) <= SPLIT_MAX and "\x00" not in split):
        raise bad(
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
            raise bad(
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
        raise bad(f"{file}: {where}: unknown review state {b.review!r}", file=file, where=where) from None
    if b.reviewed_by and b.reviewed_by not in users:
        raise bad(f"{file}: {where}: reviewer {b.reviewed_by!r} is not a user here", file=file, where=where)
    try:
        reviewed_at = datetime.fromisoformat(b.reviewed_at) if b.reviewed_at else None
    except ValueError:
        raise bad(
            f"{file}: {where}: reviewedAt {b.reviewed_at!r} is not an ISO time", file=file, where=where
        ) from None
    return {
        "review": review.value,
        "reviewed_by": users.get(b.reviewed_by) if b.reviewed_by else None,
        "reviewed_at": reviewed_at,
        "reject_reason": b.reject_reason,
    }
