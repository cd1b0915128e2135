from __future__ import annotations

import pytest

from domain.objects.interpolation import Keyframe, interpolate


def test_linear_between_keyframes():
    filled = interpolate([Keyframe(0, 0, 0, 10, 10), Keyframe(4, 8, 4, 2, 30)])
    assert [b.frame for b in filled] == [1, 2, 3]
    assert (filled[1].x, filled[1].y, filled[1].width, filled[1].height) == (4, 2, 6, 20)
    assert filled[0].x == pytest.approx(2) and filled[2].height == pytest.approx(25)
    assert all(b.after == 0 for b in filled)


def test_an_outside_keyframe_leaves_a_gap_and_occupied_frames_stay():
    keys = [Keyframe(0, 0, 0, 1, 1), Keyframe(3, 3, 0, 1, 1, outside=True), Keyframe(6, 6, 0, 1, 1),
            Keyframe(9, 9, 0, 1, 1)]
    filled = interpolate(list(reversed(keys)), occupied={7})
    assert [b.frame for b in filled] == [1, 2, 8]
    assert [b.after for b in filled] == [0, 0, 6]


def test_adjacent_or_single_keyframes_fill_nothing():
    assert interpolate([Keyframe(5, 0, 0, 1, 1)]) == []
    assert interpolate([Keyframe(5, 0, 0, 1, 1), Keyframe(6, 1, 1, 1, 1)]) == []
