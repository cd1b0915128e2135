"""Consensus of several annotators on one episode: rating, grades, agreed anomalies."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.annotations.consensus import (
    GRADE_NAMES,
    RATINGS,
    SEVERITIES,
    AgreedAnomaly,
    AnomalyMark,
    GradeSummary,
    Judgement,
    consensus,
    temporal_iou,
)


def mark(
    annotator: int, start: int, end: int, type_: str = "COLLISION", severity: str = "LOW"
) -> AnomalyMark:
    # 10 frames per second, so times follow frames.
    return AnomalyMark(annotator, type_, severity, start, end, start / 10, end / 10)


def judge(annotator: int, rating: str = "SUCCESS", *marks: AnomalyMark, **grades: int | None) -> Judgement:
    return Judgement(annotator, rating, dict(grades), tuple(marks))


# temporal_iou


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 9), (0, 9), 1.0),  # identical
        ((5, 5), (5, 5), 1.0),  # single identical frame
        ((0, 9), (20, 29), 0.0),  # disjoint
        ((0, 9), (10, 19), 0.0),  # touching: adjacent but sharing no frame
        ((0, 9), (9, 18), 1 / 19),  # sharing exactly one (inclusive) frame
        ((0, 9), (2, 6), 5 / 10),  # contained
        ((0, 9), (5, 14), 5 / 15),  # half overlap
    ],
)
def test_temporal_iou(a: tuple[int, int], b: tuple[int, int], expected: float) -> None:
    assert temporal_iou(*a, *b) == pytest.approx(expected)
    assert temporal_iou(*b, *a) == pytest.approx(expected)


def test_temporal_iou_rejects_reversed_ranges() -> None:
    with pytest.raises(ValueError):
        temporal_iou(5, 4, 0, 9)


# rating


def test_majority_and_agreement() -> None:
    result = consensus([judge(1, "SUCCESS"), judge(2, "SUCCESS"), judge(3, "FAILURE"), judge(4, "SUCCESS")])
    assert result.annotator_count == 4
    assert result.rating == "SUCCESS"
    assert result.agreement == 0.75
    assert result.rating_counts == {"SUCCESS": 3, "PARTIAL": 0, "FAILURE": 1, "UNKNOWN": 0}


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        (["SUCCESS", "FAILURE"], "FAILURE"),
        (["SUCCESS", "PARTIAL"], "PARTIAL"),
        (["SUCCESS", "UNKNOWN"], "UNKNOWN"),
        (["UNKNOWN", "PARTIAL"], "PARTIAL"),
        (["UNKNOWN", "FAILURE"], "FAILURE"),
        (["PARTIAL", "FAILURE", "SUCCESS", "UNKNOWN"], "FAILURE"),
        (["SUCCESS", "SUCCESS", "PARTIAL", "PARTIAL", "FAILURE"], "PARTIAL"),
    ],
)
def test_ties_go_to_the_more_cautious_rating(ratings: list[str], expected: str) -> None:
    result = consensus([judge(i, r) for i, r in enumerate(ratings)])
    assert result.rating == expected
    assert result.agreement == pytest.approx(result.rating_counts[expected] / len(ratings))


def test_rejects_unknown_rating_and_duplicate_annotators() -> None:
    with pytest.raises(ValueError, match="rating"):
        judge(1, "GREAT")
    with pytest.raises(ValueError, match="at most one"):
        consensus([judge(1), judge(1, "FAILURE")])


# grades


def test_grade_mean_and_population_spread_skip_missing_values() -> None:
    result = consensus(
        [
            judge(1, smoothness=2, safety=5, efficiency=None),
            judge(2, smoothness=4, safety=5),
            judge(3, smoothness=None, safety=5, precision=3),
            judge(4, smoothness=3),
        ]
    )
    by_name = {s.name: s for s in result.grades}
    assert [s.name for s in result.grades] == list(GRADE_NAMES)
    # Population std of 2, 4, 3: sqrt(((-1)^2 + 1^2 + 0) / 3), not the sample std sqrt(2/2) = 1.
    assert by_name["smoothness"] == GradeSummary("smoothness", 3.0, math.sqrt(2 / 3), 3)
    assert by_name["safety"] == GradeSummary("safety", 5.0, 0.0, 3)
    assert by_name["precision"] == GradeSummary("precision", 3.0, 0.0, 1)
    assert by_name["efficiency"] == GradeSummary("efficiency", None, None, 0)
    assert by_name["video_quality"] == GradeSummary("video_quality", None, None, 0)


def test_rejects_out_of_range_or_unknown_grades() -> None:
    with pytest.raises(ValueError):
        judge(1, safety=6)
    with pytest.raises(ValueError):
        judge(1, safety=0)
    with pytest.raises(ValueError, match="unknown grade"):
        judge(1, videoQuality=3)


# anomalies


def test_two_annotators_overlapping_at_iou_0_6_agree() -> None:
    # [0, 79] and [20, 99]: intersection 60, union 100.
    assert temporal_iou(0, 79, 20, 99) == pytest.approx(0.6)
    result = consensus([judge(1, "FAILURE", mark(1, 0, 79)), judge(2, "FAILURE", mark(2, 20, 99))])
    assert result.anomalies == (
        AgreedAnomaly("COLLISION", "LOW", 0, 99, 0.0, 9.9, (1, 2), pytest.approx(0.6)),
    )


def test_two_annotators_overlapping_at_iou_0_4_do_not_agree() -> None:
    # [0, 69] and [30, 99]: intersection 40, union 100.
    assert temporal_iou(0, 69, 30, 99) == pytest.approx(0.4)
    result = consensus([judge(1, "FAILURE", mark(1, 0, 69)), judge(2, "FAILURE", mark(2, 30, 99))])
    assert result.anomalies == ()
    # ...unless the caller lowers the threshold.
    assert (
        len(
            consensus(
                [judge(1, "FAILURE", mark(1, 0, 69)), judge(2, "FAILURE", mark(2, 30, 99))], 0.4
            ).anomalies
        )
        == 1
    )


def test_threshold_is_inclusive() -> None:
    # [0, 9] and [0, 19]: IoU exactly 0.5.
    result = consensus([judge(1, "FAILURE", mark(1, 0, 9)), judge(2, "FAILURE", mark(2, 0, 19))])
    assert [a.annotator_ids for a in result.anomalies] == [(1, 2)]


def test_three_annotators_chained_merge_into_one_with_union_and_most_severe() -> None:
    # 1-2 overlap (IoU 0.6), 2-3 overlap (IoU 0.6), 1-3 only 0.2: one component through 2.
    a = mark(1, 0, 79, "COLLISION", "MEDIUM")
    b = mark(2, 20, 99, "DROP", "CRITICAL")
    c = mark(3, 40, 119, "DROP", "LOW")
    assert temporal_iou(0, 79, 40, 119) < 0.5
    (agreed,) = consensus([judge(1, "FAILURE", a), judge(2, "FAILURE", b), judge(3, "PARTIAL", c)]).anomalies
    assert agreed.annotator_ids == (1, 2, 3)
    assert (agreed.from_frame, agreed.to_frame) == (0, 119)
    assert (agreed.from_time, agreed.to_time) == (0.0, 11.9)
    assert agreed.severity == "CRITICAL"
    assert agreed.type == "DROP"  # 2 of 3 marks
    assert agreed.mean_iou == pytest.approx((0.6 + 0.6) / 2)  # over the two edges, not the 1-3 pair


def test_type_ties_go_alphabetical_and_severity_orders_by_rank_not_name() -> None:
    result = consensus(
        [
            judge(1, "FAILURE", mark(1, 0, 9, "SLIP", "HIGH")),
            judge(2, "FAILURE", mark(2, 0, 9, "DROP", "MEDIUM")),
        ]
    )
    (agreed,) = result.anomalies
    assert agreed.type == "DROP"
    assert agreed.severity == "HIGH"  # alphabetically MEDIUM > HIGH, by rank HIGH wins
    assert agreed.mean_iou == 1.0


def test_same_annotator_twice_does_not_agree_with_itself() -> None:
    result = consensus([judge(1, "FAILURE", mark(1, 0, 9), mark(1, 0, 9)), judge(2, "SUCCESS")])
    assert result.anomalies == ()


def test_same_annotators_marks_join_only_through_another_annotator() -> None:
    # Annotator 1 marks two overlapping ranges; annotator 2 overlaps both: one component, ids (1, 2).
    result = consensus(
        [judge(1, "FAILURE", mark(1, 0, 9), mark(1, 1, 10)), judge(2, "FAILURE", mark(2, 0, 10))]
    )
    (agreed,) = result.anomalies
    assert agreed.annotator_ids == (1, 2)
    assert (agreed.from_frame, agreed.to_frame) == (0, 10)
    assert agreed.mean_iou == pytest.approx((10 / 11 + 10 / 11) / 2)


def test_separate_events_stay_separate_and_sorted_by_start() -> None:
    result = consensus(
        [
            judge(1, "FAILURE", mark(1, 200, 220), mark(1, 0, 10), mark(1, 100, 105)),
            judge(2, "FAILURE", mark(2, 0, 10), mark(2, 201, 221)),
            judge(3, "FAILURE", mark(3, 100, 105)),
        ]
    )
    assert [(a.from_frame, a.to_frame, a.annotator_ids) for a in result.anomalies] == [
        (0, 10, (1, 2)),
        (100, 105, (1, 3)),
        (200, 221, (1, 2)),
    ]


def test_marks_are_validated() -> None:
    with pytest.raises(ValueError, match="severity"):
        mark(1, 0, 9, severity="SEVERE")
    with pytest.raises(ValueError, match="before"):
        mark(1, 9, 0)
    with pytest.raises(ValueError, match="inside judgement"):
        judge(1, "FAILURE", mark(2, 0, 9))
    with pytest.raises(ValueError, match="iou_threshold"):
        consensus([], iou_threshold=0.0)


def test_empty_input() -> None:
    result = consensus([])
    assert result.annotator_count == 0
    assert result.rating is None
    assert result.agreement is None
    assert result.rating_counts == dict.fromkeys(RATINGS, 0)
    assert result.grades == tuple(GradeSummary(name, None, None, 0) for name in GRADE_NAMES)
    assert result.anomalies == ()


# properties


@st.composite
def judgements(draw: st.DrawFn) -> list[Judgement]:
    ids = draw(st.lists(st.integers(1, 50), unique=True, max_size=6))
    result = []
    for annotator in ids:
        marks = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, 60))
            end = start + draw(st.integers(0, 30))
            marks.append(
                mark(
                    annotator,
                    start,
                    end,
                    draw(st.sampled_from(["DROP", "SLIP", "COLLISION"])),
                    draw(st.sampled_from(SEVERITIES)),
                )
            )
        grades = {name: draw(st.one_of(st.none(), st.integers(1, 5))) for name in GRADE_NAMES}
        result.append(Judgement(annotator, draw(st.sampled_from(RATINGS)), grades, tuple(marks)))
    return result


@settings(max_examples=300, deadline=None)
@given(judgements(), st.randoms(use_true_random=False), st.sampled_from([0.3, 0.5, 0.8]))
def test_consensus_ignores_order_of_judgements_and_anomalies(
    given_judgements: list[Judgement], rnd: random.Random, threshold: float
) -> None:
    shuffled = []
    for j in given_judgements:
        marks = list(j.anomalies)
        rnd.shuffle(marks)
        shuffled.append(Judgement(j.annotator_id, j.rating, dict(reversed(j.grades.items())), tuple(marks)))
    rnd.shuffle(shuffled)
    assert consensus(shuffled, threshold) == consensus(given_judgements, threshold)


@settings(max_examples=300, deadline=None)
@given(judgements())
def test_agreement_bounds_and_anomaly_invariants(given_judgements: list[Judgement]) -> None:
    result = consensus(given_judgements)
    n = len(given_judgements)
    assert result.annotator_count == n == sum(result.rating_counts.values())
    if n == 0:
        assert result.agreement is None
    else:
        assert 1 / n <= result.agreement <= 1
        assert result.rating_counts[result.rating] == max(result.rating_counts.values())
    starts = [a.from_frame for a in result.anomalies]
    assert starts == sorted(starts)
    for agreed in result.anomalies:
        assert len(agreed.annotator_ids) >= 2
        assert list(agreed.annotator_ids) == sorted(set(agreed.annotator_ids))
        assert 0.5 <= agreed.mean_iou <= 1
        assert agreed.from_frame <= agreed.to_frame
