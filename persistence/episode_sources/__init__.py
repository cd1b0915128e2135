"""Episode sources: every recording format read into one episode model (base.py), the format
registry and detection (formats.py), and the per-process cache of open episodes (readers.py)."""

from pathlib import Path

# Registers the HDF5 filters other writers use (Blosc, LZ4, Zstd, bitshuffle) with h5py, in every
# process that reads episodes (the server, analysis and detection workers, the episode writer).
import hdf5plugin  # noqa: F401

from persistence.episode_sources.base import (
    IMAGE_PREFIX,
    TASK_INDEX,
    TRAJECTORY_DATASETS,
    DatasetScan,
    EpisodeReader,
    EpisodeScan,
    FieldMapping,
    FrameRequestError,
    SourceError,
    SourceRef,
    make_ref,
)


def episode_ref(dataset, episode) -> SourceRef:
    """The source of an episode row of a dataset row (anything with `format`, `path`; `file`, `locator`)."""
    return SourceRef(dataset.format, dataset.path, episode.file, episode.locator or "{}")


def path_ref(path: str | Path) -> SourceRef:
    """A single episode file without a dataset row: our HDF5 layout, or a video by its suffix."""
    from persistence.episode_sources.video import SUFFIXES

    path = Path(path)
    return SourceRef("VIDEO" if path.suffix.lower() in SUFFIXES else "HDF5", str(path), "")


__all__ = [
    "path_ref",
    "episode_ref",
    "IMAGE_PREFIX",
    "TASK_INDEX",
    "TRAJECTORY_DATASETS",
    "DatasetScan",
    "EpisodeReader",
    "EpisodeScan",
    "FieldMapping",
    "FrameRequestError",
    "SourceError",
    "SourceRef",
    "make_ref",
]
