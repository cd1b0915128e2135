"""Krippendorff's alpha: the published worked example, hand checks, and an independent transcription."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.annotations.agreement import DatasetAgreement, dataset_agreement, krippendorff_alpha
from domain.annotations.consensus import GRADE_NAMES, Judgement

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units.
_ = None
PAPER = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    "C": [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
}
PAPER_UNITS = [{ord(c): PAPER[c][u] for c in PAPER if PAPER[c][u] is not None} for u in range(12)]
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def reference_alpha(units: Sequence[Mapping[int, float]], level: str) -> float:
    """Direct transcription of the coincidence-matrix definition, loops only, no library."""
    values_by_unit = [[v for v in u.values() if v is not None] for u in units]
    values_by_unit = [vs for vs in values_by_unit if len(vs) >= 2]  # m_u >= 2: pairable units
    domain = sorted({v for vs in values_by_unit for v in vs})
    # o_ck = sum over units of (number of ordered pairs (c, k) of different coders) / (m_u - 1)
    o = {(c, k): 0.0 for c in domain for k in domain}
    for vs in values_by_unit:
        m = len(vs)
        for i in range(m):
            for j in range(m):
                if i != j:
                    o[(vs[i], vs[j])] += 1 / (m - 1)
    n_c = {c: sum(o[(c, k)] for k in domain) for c in domain}
    n = sum(n_c.values())

    def delta(c: float, k: float) -> float:
        if level == "nominal":
            return 0.0 if c == k else 1.0
        if level == "ordinal":
            lo, hi = min(c, k), max(c, k)
            between = sum(n_c[g] for g in domain if lo <= g <= hi)
            return (between - (n_c[c] + n_c[k]) / 2) ** 2
        if level == "interval":
            return (c - k) ** 2
        if level == "ratio":
            return ((c - k) / (c + k)) ** 2
        raise AssertionError(level)

    observed = sum(o[(c, k)] * delta(c, k) for c in domain for k in domain)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in domain for k in domain)
    return 1 - (n - 1) * observed / expected


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_published_worked_example(level: str) -> None:
    assert round(krippendorff_alpha(PAPER_UNITS, level), 3) == PUBLISHED[level]


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_independent_transcription_reproduces_the_paper(level: str) -> None:
    # Guards against the library and the test agreeing on a wrong figure.
    ours = reference_alpha(PAPER_UNITS, level)
    assert round(ours, 3) == PUBLISHED[level]
    assert krippendorff_alpha(PAPER_UNITS, level) == pytest.approx(ours, abs=1e-12)


def test_paper_nominal_from_its_coincidence_totals() -> None:
    # The paper's intermediate figures: n_1..n_5 = 9, 13, 10, 5, 3 (n = 40) and 32 matching pairs,
    # so alpha = 1 - (n - 1)(n - sum o_cc) / (n^2 - sum n_c^2).
    expected = 1 - 39 * (40 - 32) / (40**2 - (9**2 + 13**2 + 10**2 + 5**2 + 3**2))
    assert krippendorff_alpha(PAPER_UNITS, "nominal") == pytest.approx(expected)


def test_ordinal_with_value_domain_and_strings() -> None:
    names = ["very low", "low", "mid", "high", "very high"]
    as_strings = [{c: names[v - 1] for c, v in unit.items()} for unit in PAPER_UNITS]
    alpha = krippendorff_alpha(as_strings, "ordinal", value_domain=names)
    assert alpha == pytest.approx(krippendorff_alpha(PAPER_UNITS, "ordinal"))
    # Unused categories have no pairable values, so a wider domain leaves alpha unchanged.
    wider = krippendorff_alpha(PAPER_UNITS, "ordinal", value_domain=[0, 1, 2, 3, 4, 5, 6])
    assert wider == pytest.approx(0.8153875, abs=1e-6)


def test_nominal_strings_equal_integer_codes() -> None:
    letters = [{c: "abcde"[v - 1] for c, v in unit.items()} for unit in PAPER_UNITS]
    assert krippendorff_alpha(letters, "nominal") == pytest.approx(krippendorff_alpha(PAPER_UNITS, "nominal"))


def test_perfect_agreement_is_one() -> None:
    units = [{1: 1, 2: 1, 3: 1}, {1: 3, 2: 3}, {2: 5, 3: 5}]
    for level in PUBLISHED:
        assert krippendorff_alpha(units, level) == pytest.approx(1.0)


def test_nominal_systematic_disagreement_by_hand() -> None:
    # Two coders always disagree: o_ab = o_ba = 2, n_a = n_b = 2, n = 4.
    # alpha = 1 - (n - 1) * sum(o * d) / sum(n_c * n_k * d) = 1 - 3 * 4 / 8 = -0.5
    assert krippendorff_alpha([{1: "a", 2: "b"}, {1: "a", 2: "b"}], "nominal") == pytest.approx(-0.5)
    # Agree, agree, disagree: o_aa = o_bb = 2, o_ab = o_ba = 1, n = 6: 1 - 5 * 2 / 18 = 4/9
    units = [{1: "a", 2: "a"}, {1: "b", 2: "b"}, {1: "a", 2: "b"}]
    assert krippendorff_alpha(units, "nominal") == pytest.approx(4 / 9)


def test_interval_offset_by_one_by_hand() -> None:
    # Coder 2 is always one higher: pairs (1,2), (2,3), (3,4); n_1 = n_4 = 1, n_2 = n_3 = 2, n = 6.
    # sum(o * d) = 6; sum(n_c * n_k * d) over ordered pairs = 2 * (2 + 8 + 9 + 4 + 8 + 2) = 66.
    units = [{1: 1, 2: 2}, {1: 2, 2: 3}, {1: 3, 2: 4}]
    assert krippendorff_alpha(units, "interval") == pytest.approx(1 - 5 * 6 / 66)


def test_missing_values_are_ignored() -> None:
    with_gaps = [{1: 1, 2: 1, 3: None}, {1: 2, 2: 3, 3: float("nan")}, {1: 4}, {}]
    assert krippendorff_alpha(with_gaps, "interval") == pytest.approx(
        krippendorff_alpha([{1: 1, 2: 1}, {1: 2, 2: 3}], "interval")
    )


@pytest.mark.parametrize(
    "units",
    [
        [],
        [{}],
        [{1: 3}, {2: 4}, {1: 5, 2: None}],  # never two values in one unit
        [{1: 2, 2: 2}, {1: 2, 2: 2, 3: 2}],  # no variation at all
        [{1: 2, 2: 2}, {1: 5}],  # the 5 pairs with nothing, so still no variation
    ],
)
def test_undefined_alpha_is_none(units: list[dict[int, object]]) -> None:
    for level in PUBLISHED:
        assert krippendorff_alpha(units, level) is None
        assert krippendorff_alpha(units, level, value_domain=[1, 2, 3, 4, 5]) is None


def test_rejects_values_outside_the_domain_and_unknown_levels() -> None:
    with pytest.raises(ValueError, match="outside"):
        krippendorff_alpha([{1: 1, 2: 6}], "ordinal", value_domain=[1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="outside"):
        krippendorff_alpha([{1: "OK", 2: "MAYBE"}], "nominal", value_domain=["OK", "NOT_OK"])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(PAPER_UNITS, "cardinal")


unit_strategy = st.dictionaries(st.integers(0, 5), st.one_of(st.none(), st.integers(1, 5)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(unit_strategy, max_size=12), st.sampled_from(list(PUBLISHED)))
def test_matches_independent_transcription(units: list[dict[int, int | None]], level: str) -> None:
    ours = krippendorff_alpha(units, level)
    pairable = [[v for v in u.values() if v is not None] for u in units]
    defined = len({v for vs in pairable if len(vs) >= 2 for v in vs}) >= 2
    if not defined:
        assert ours is None
    else:
        assert ours is not None and ours == pytest.approx(reference_alpha(units, level), abs=1e-9)
        assert ours <= 1 + 1e-12


def judgement(annotator: int, rating: str, **grades: int | None) -> Judgement:
    return Judgement(annotator, rating, dict(grades))


def test_dataset_agreement() -> None:
    episodes = [
        [judgement(1, "SUCCESS", safety=5, smoothness=4), judgement(2, "SUCCESS", safety=5, smoothness=2)],
        [judgement(1, "FAILURE", safety=1, smoothness=3), judgement(2, "FAILURE", safety=1, smoothness=3)],
        [judgement(1, "PARTIAL", safety=3), judgement(3, "FAILURE", safety=3)],
        [judgement(2, "SUCCESS", safety=2)],  # a single annotation pairs with nothing
        [],
    ]
    result = dataset_agreement(episodes)
    assert isinstance(result, DatasetAgreement)
    assert result.units == 3
    ratings = [
        {1: "SUCCESS", 2: "SUCCESS"},
        {1: "FAILURE", 2: "FAILURE"},
        {1: "PARTIAL", 3: "FAILURE"},
    ]
    # Nominal by hand: o_SS = 2, o_FF = 2, o_PF = o_FP = 1; n_S = 2, n_F = 3, n_P = 1, n = 6.
    # sum(n_c n_k d) = 2 * (2*3 + 2*1 + 3*1) = 22; alpha = 1 - 5 * 2 / 22 = 6/11
    assert result.rating_alpha == pytest.approx(6 / 11)
    assert result.rating_alpha == pytest.approx(reference_alpha(ratings, "nominal"))
    assert list(result.grade_alphas) == list(GRADE_NAMES)
    assert result.grade_alphas["safety"] == pytest.approx(1.0)
    smooth = reference_alpha([{1: 4, 2: 2}, {1: 3, 2: 3}], "ordinal")
    assert result.grade_alphas["smoothness"] == pytest.approx(smooth)
    assert result.grade_alphas["smoothness"] < 0
    for name in ("efficiency", "precision", "video_quality"):
        assert result.grade_alphas[name] is None


def test_dataset_agreement_of_nothing() -> None:
    result = dataset_agreement([])
    assert result.units == 0
    assert result.rating_alpha is None
    assert set(result.grade_alphas.values()) == {None}


def test_dataset_agreement_rejects_duplicate_annotators() -> None:
    with pytest.raises(ValueError, match="at most one"):
        dataset_agreement([[judgement(1, "SUCCESS"), judgement(1, "FAILURE")]])


def test_reference_is_not_trivially_the_library() -> None:
    # Sanity of the oracle itself on a case worked by hand above.
    assert reference_alpha([{1: 1, 2: 2}, {1: 2, 2: 3}, {1: 3, 2: 4}], "interval") == pytest.approx(6 / 11)
    assert not math.isclose(reference_alpha(PAPER_UNITS, "ordinal"), reference_alpha(PAPER_UNITS, "interval"))
