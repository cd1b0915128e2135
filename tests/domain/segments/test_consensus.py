"""Segment consensus against a hand-computed example: IoU matching, medians, spreads."""

from __future__ import annotations

import pytest

from domain.core.errors import BadUserInput
from domain.segments.consensus import SegmentMark, check_min_iou, segment_agreement, segment_consensus

REACH, GRASP = 1, 2


def mark(segment_id: int, annotator: int, label: int, first: int, last: int) -> SegmentMark:
    # 10 frames per second from t = 100 s: times are easy to check by hand.
    return SegmentMark(segment_id, annotator, label, first, last, 100 + first / 10, 100 + last / 10)


def test_hand_computed_example():
    marks = [
        # reach: three annotators roughly agree, frames 0..19 / 2..21 / 0..23.
        mark(1, 10, REACH, 0, 19),
        mark(2, 11, REACH, 2, 21),
        mark(3, 12, REACH, 0, 23),
        # grasp: annotators 10 and 11 agree (IoU 16/20 = 0.8); 12's grasp is far off (IoU 0 with both).
        mark(4, 10, GRASP, 20, 39),
        mark(5, 11, GRASP, 24, 39),
        mark(6, 12, GRASP, 60, 69),
        # a second reach of annotator 10 that overlaps nobody's: unmatched.
        mark(7, 10, REACH, 80, 89),
        # a grasp of 12 over reach's frames: another label, never matched with reach.
        mark(8, 12, GRASP, 0, 19),
    ]
    result = segment_consensus(marks, 0.5)
    assert result.annotator_count == 3 and result.marked == 8
    assert len(result.segments) == 2
    reach, grasp = result.segments  # by median first frame
    # IoU(1,2): inter 2..19 = 18 frames, union 0..21 = 22 -> 0.818; IoU(1,3): 20/24 = 0.833;
    # IoU(2,3): 20/24 = 0.833. All >= 0.5: one group of three.
    assert reach.label_id == REACH and reach.segment_ids == (1, 3, 2)
    assert sorted(reach.annotator_ids) == [10, 11, 12]
    assert reach.from_frame == 0.0 and reach.to_frame == 21.0  # medians of (0,2,0) and (19,21,23)
    assert reach.from_spread_frames == 2 and reach.to_spread_frames == 4
    assert reach.from_time == pytest.approx(100.0) and reach.to_time == pytest.approx(102.1)
    assert reach.from_spread_seconds == pytest.approx(0.2) and reach.to_spread_seconds == pytest.approx(0.4)
    assert reach.mean_iou == pytest.approx((18 / 22 + 20 / 24 + 20 / 24) / 3)
    # grasp: 20..39 and 24..39: inter 16, union 20 -> 0.8; medians of two are halves.
    assert grasp.label_id == GRASP and set(grasp.segment_ids) == {4, 5}
    assert grasp.from_frame == 22.0 and grasp.to_frame == 39.0
    assert grasp.from_spread_frames == 4 and grasp.to_spread_frames == 0
    assert grasp.from_time == pytest.approx(102.2) and grasp.from_spread_seconds == pytest.approx(0.4)
    assert grasp.mean_iou == pytest.approx(0.8)
    assert result.agreed_marks == 5


def test_threshold_and_one_segment_per_annotator():
    # IoU 10/30 = 0.333: agreed at 0.3, not at 0.5.
    marks = [mark(1, 10, REACH, 0, 19), mark(2, 11, REACH, 10, 29)]
    assert segment_consensus(marks, 0.5).segments == ()
    assert len(segment_consensus(marks, 0.3).segments) == 1
    # Two segments of one annotator never agree with each other, however alike.
    same = [mark(1, 10, REACH, 0, 19), mark(2, 10, REACH, 0, 19)]
    assert segment_consensus(same, 0.5).segments == ()


def test_complete_linkage_never_chains():
    # a~b (IoU 0.6) and b~c (0.6), but a and c overlap too little (0.25): the greedy pass keeps one pair.
    marks = [mark(1, 10, REACH, 0, 9), mark(2, 11, REACH, 0, 15), mark(3, 12, REACH, 6, 15)]
    result = segment_consensus(marks, 0.5)
    assert [len(s.segment_ids) for s in result.segments] == [2]


def test_dataset_agreement_pools_episodes_of_two_or_more_annotators():
    agreed = [mark(1, 10, REACH, 0, 19), mark(2, 11, REACH, 0, 19)]  # IoU 1
    disagreeing = [mark(3, 10, REACH, 0, 9), mark(4, 11, GRASP, 0, 9)]
    alone = [mark(5, 10, REACH, 0, 9)]
    result = segment_agreement([agreed, disagreeing, alone], 0.5)
    assert (result.episodes, result.marked, result.agreed_marks) == (2, 4, 2)
    assert result.agreed_share == 0.5 and result.mean_iou == 1.0
    assert segment_agreement([alone]).agreed_share is None


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_min_iou_must_be_in_range(bad):
    with pytest.raises(BadUserInput) as refused:
        check_min_iou(bad)
    assert refused.value.field == "min_iou"
