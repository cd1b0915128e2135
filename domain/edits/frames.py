"""Which source frames an episode keeps after its edits, and where each one lands. Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class FrameEdits(Protocol):
    """What of an `edits.spec.EpisodeEdits` this reads (a protocol: `spec` imports this module)."""

    @property
    def removed_frames(self) -> Sequence[int]: ...
    @property
    def removed_ranges(self) -> Sequence[tuple[int, int]]: ...
    @property
    def trim(self) -> tuple[int, int] | None: ...


def kept_frames(edits: FrameEdits, length: int) -> np.ndarray:
    """Sorted source indices (int64) kept after the trim and every removal; frames outside
    0..length-1 named by the edits are ignored, so call it with edits validated for `length`."""
    keep = np.zeros(length, bool)
    first, last = edits.trim if edits.trim is not None else (0, length - 1)
    keep[max(first, 0) : last + 1] = True
    removed = np.asarray([f for f in edits.removed_frames if 0 <= f < length], np.int64)
    keep[removed] = False
    for a, b in edits.removed_ranges:
        keep[max(a, 0) : b + 1] = False
    return np.flatnonzero(keep).astype(np.int64)


def renumber(kept: np.ndarray, length: int) -> np.ndarray:
    """An int64 array of `length`: source frame -> frame in the edited episode, -1 where removed."""
    mapping = np.full(length, -1, np.int64)
    mapping[np.asarray(kept, np.int64)] = np.arange(len(kept), dtype=np.int64)
    return mapping
