"""An edited export carries time segments as it carries boxes: frames renumbered through the trim and
the removed frames, a segment on removed frames only dropped and counted, a boundary that was removed
moved to the next kept frame with its time interpolated within the segment."""

from __future__ import annotations

import pytest

from domain.edits import EpisodeEdits
from domain.edits.carry import carry_annotations
from domain.objects.transfer.formats.model import AnnotationSet
from persistence.tables import EpisodeRow


def segment(episode: int, first: int, last: int, seconds_per_frame: float = 0.1) -> dict:
    return {
        "episodeIndex": episode,
        "annotator": "anna",
        "label": "reach",
        "fromFrame": first,
        "toFrame": last,
        "fromTime": 100 + first * seconds_per_frame,
        "toTime": 100 + last * seconds_per_frame,
        "instruction": "reach the cube",
        "notes": None,
        "version": 2,
    }


def test_segments_follow_the_trim_and_removed_frames():
    # Episode 7 (20 frames) exported first: trimmed to 2..15 and frame 5 removed, so source frames
    # 2,3,4,6,7,...,15 become 0..12. Episode 3 (10 frames) exported second, unedited.
    plan = [
        (EpisodeRow(index=7, length=20), EpisodeEdits.from_json({"trim": [2, 15], "removedFrames": [5]})),
        (EpisodeRow(index=3, length=10), EpisodeEdits()),
    ]
    data = AnnotationSet(
        segments=[segment(7, 4, 8), segment(7, 0, 1), segment(7, 5, 5), segment(7, 14, 19), segment(3, 2, 6)]
    )
    carried, dropped = carry_annotations(data, plan)
    moved = [(s["episodeIndex"], s["fromFrame"], s["toFrame"]) for s in carried.segments]
    assert moved == [(0, 2, 5), (0, 11, 12), (1, 2, 6)]
    assert dropped == {"segments on removed frames": 2}  # 0-1 trimmed away, 5 removed
    reach, tail, other = carried.segments
    assert (reach["fromTime"], reach["toTime"]) == pytest.approx((100.4, 100.8))  # both ends kept
    assert (tail["fromTime"], tail["toTime"]) == pytest.approx((101.4, 101.5))  # 19 -> 15: interpolated
    assert other == {**segment(3, 2, 6), "episodeIndex": 1}
    assert reach["instruction"] == "reach the cube" and reach["version"] == 2
