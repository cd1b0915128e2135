"""Frames served with an episode's saved edits applied (`frameUrl(edited: true)`): the frame the
export would write, so annotators check a crop or a rotation before exporting."""

from __future__ import annotations

import dataclasses
import functools

from domain.core.errors import NotFound
from domain.core.runtime import Runtime
from domain.datasets.episodes import FrameTarget, locate_frame
from domain.edits.frames import kept_frames
from domain.edits.images import apply_camera_edit
from domain.edits.spec import CameraEdit, EpisodeEdits
from persistence.repositories import episode_edit as edits_repo


async def locate_edited_frame(
    rt: Runtime,
    dataset_id: int,
    index: int,
    camera: str,
    frame: int,
    width: int | None,
    quality: int | None,
) -> FrameTarget:
    """`locate_frame` with the camera's saved edit to apply; NotFound for a frame the edits remove.
    The ETag carries the edits' version, so a new save is a new picture."""
    # Two reads, no write: the episode mostly from locate_frame's short-lived cache (no session), the
    # edits always fresh.
    target = await locate_frame(rt, dataset_id, index, camera, frame, width, quality)
    edit, version = await _saved_camera_edit(rt, target.episode_id, target.episode_length, frame, camera)
    etag = f'{target.etag[:-1]}-e{version}"'
    transform = functools.partial(_apply, edit=edit) if edit is not None else None
    return dataclasses.replace(target, etag=etag, transform=transform)


def _apply(pixels, *, edit: CameraEdit):
    return apply_camera_edit(pixels, edit)


async def _saved_camera_edit(rt: Runtime, episode_id: int, length: int, frame: int, camera: str):
    """The saved edit of this camera and the edits' version (0: none saved); NotFound for a removed frame."""
    async with rt.sessions() as session:
        found = await edits_repo.read_edits(session, [episode_id])
    saved = found[0] if found else None
    if saved is None:
        return None, 0
    edits = EpisodeEdits.from_stored(saved.edits)
    if frame not in set(kept_frames(edits, length).tolist()):
        raise NotFound(f"frame {frame} is removed by the saved edits")
    return edits.cameras.get(camera), saved.version
