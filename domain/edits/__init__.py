"""Editing episodes for training: cut and trim frames, crop, resize, rotate and re-expose cameras, and
write a clean HDF5 episode. `spec`, `frames`, `images` and `boxes` are pure; `hdf5_writer` blocks on
h5py and Pillow and belongs in a worker thread or process."""

from domain.edits.boxes import transform_box
from domain.edits.frames import kept_frames, renumber
from domain.edits.hdf5_writer import WriteSummary, write_edited_episode
from domain.edits.images import apply_camera_edit, output_size
from domain.edits.spec import (
    MAX_FACTOR,
    MAX_SIDE,
    CameraEdit,
    Crop,
    EpisodeEdits,
    EpisodeShape,
    Resize,
    ResizeFilter,
    validate_edits,
)

__all__ = [
    "MAX_FACTOR",
    "MAX_SIDE",
    "CameraEdit",
    "Crop",
    "EpisodeEdits",
    "EpisodeShape",
    "Resize",
    "ResizeFilter",
    "WriteSummary",
    "apply_camera_edit",
    "kept_frames",
    "output_size",
    "renumber",
    "transform_box",
    "validate_edits",
    "write_edited_episode",
]
