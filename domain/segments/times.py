"""Seconds of an episode's frames, from the episode's own timestamps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np

from domain.core.runtime import Runtime
from persistence.episode_sources import episode_ref
from persistence.tables import DatasetRow, EpisodeRow

log = logging.getLogger(__name__)


async def frame_times(
    rt: Runtime, dataset: DatasetRow, episode: EpisodeRow, frames: Sequence[int]
) -> list[float]:
    """Seconds at each frame: the episode's `timestamp` array where it has a finite value, frame / fps
    where it has none (no timestamps recorded, or the file unreadable since indexing)."""
    if not frames:
        return []
    stamps = None
    if "timestamp" not in episode.missing:
        ref = episode_ref(dataset, episode)
        try:
            arrays = await asyncio.to_thread(rt.files.read_arrays, ref, ["timestamp"], slice(None))
            stamps = arrays.get("timestamp")
        except OSError:
            # The file moved since indexing: the segment still saves, timed by frame rate.
            log.warning("episode file %s is unreadable; segment times from fps", ref.path)

    def at(frame: int) -> float:
        if stamps is not None and frame < len(stamps) and np.isfinite(stamps[frame]):
            return float(stamps[frame])
        return frame / dataset.fps

    return [at(frame) for frame in frames]
