"""The LeRobot export's pure parts: segments and anomaly ranges renumbered through the edits, which
segments travel (agreed ones across annotators, every one of a single annotator), the fps LeRobot needs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from domain.core.errors import BadUserInput
from domain.edits import EpisodeEdits, kept_frames
from domain.edits.lerobot_export import NO_SUBTASK, Span, lerobot_fps, renumbered_anomalies, subtask_index
from domain.edits.lerobot_export_annotations import _spans
from domain.edits.lerobot_spec import AnomalyRange

# 20 frames, trimmed to 2..15, frames 5 and 8..9 removed: kept 2 3 4 6 7 10 11 12 13 14 15.
EDITS = EpisodeEdits(removed_frames=(5,), removed_ranges=((8, 9),), trim=(2, 15))
KEPT = kept_frames(EDITS, 20)


def test_subtask_index_follows_the_kept_frames():
    assert list(KEPT) == [2, 3, 4, 6, 7, 10, 11, 12, 13, 14, 15]
    index = subtask_index([Span(0, 0, 6), Span(1, 9, 12), Span(2, 18, 19)], KEPT, 20)
    # 0..6 keeps 2 3 4 6 (new 0..3); 9..12 keeps 10 11 12 (new 5..7); 18..19 is trimmed away.
    assert list(index) == [0, 0, 0, 0, NO_SUBTASK, 1, 1, 1, NO_SUBTASK, NO_SUBTASK, NO_SUBTASK]
    later_wins = subtask_index([Span(0, 2, 15), Span(1, 10, 11)], KEPT, 20)
    assert list(later_wins) == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_anomalies_keep_their_first_and_last_kept_frames():
    ranges = [
        AnomalyRange(4, 10, "JITTER", "LOW"),
        AnomalyRange(8, 9, "DROP", "HIGH", "on removed frames only"),
        AnomalyRange(0, 1, "DROP", "LOW"),
    ]
    assert renumbered_anomalies(ranges, KEPT, 20) == [AnomalyRange(2, 5, "JITTER", "LOW")]


def segment(id: int, annotator: int, label: int, first: int, last: int, instruction=None):
    return SimpleNamespace(
        id=id,
        annotator_id=annotator,
        label_id=label,
        from_frame=first,
        to_frame=last,
        from_time=first / 10,
        to_time=last / 10,
        instruction=instruction,
    )


def test_segments_that_travel():
    single = [segment(1, 7, 1, 0, 4), segment(2, 7, 2, 3, 9, "grasp")]
    assert _spans(single) == [((1, None), 0, 4), ((2, "grasp"), 3, 9)]
    two = [
        segment(1, 7, 1, 0, 10, "reach"),
        segment(2, 8, 1, 1, 11, "reach it"),
        segment(3, 8, 1, 1, 11),
        segment(4, 7, 2, 30, 40),  # ben marks no grasp: not agreed, left out
    ]
    # Medians 0.5 and 10.5, rounded half up; a tie of instructions goes to the alphabetically first.
    assert _spans(two) == [((1, "reach"), 1, 11)]


def test_lerobot_needs_a_whole_fps():
    assert lerobot_fps(30.0) == 30 and lerobot_fps(29.9999) == 30
    for bad in (29.97, None, 0):
        with pytest.raises(BadUserInput) as caught:
            lerobot_fps(bad)
        assert caught.value.field == "format"
    assert np.array_equal(subtask_index([], KEPT, 20), np.full(len(KEPT), NO_SUBTASK))
