"""Pure computation: inter-annotator agreement over a whole dataset (Krippendorff's alpha).

Alpha = 1 - D_o / D_e compares the disagreement observed within episodes with the disagreement
expected by chance. 1 is perfect agreement, 0 agreement at chance level, below 0 systematic
disagreement. It copes with any number of annotators and with missing annotations.
"""

from __future__ import annotations

import math
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import krippendorff
import numpy as np

from domain.annotations.consensus import GRADE_NAMES, GRADE_RANGE, RATINGS, Judgement

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = get_args(Level)


@dataclass(frozen=True)
class DatasetAgreement:
    rating_alpha: float | None  # nominal
    grade_alphas: dict[str, float | None]  # ordinal, one per name in GRADE_NAMES
    units: int  # episodes with at least 2 annotations (the only pairable ones)


def krippendorff_alpha(
    units: Sequence[Mapping[int, object]],
    level: Level,
    *,
    value_domain: Sequence[object] | None = None,
) -> float | None:
    """Krippendorff's alpha of `units`, one mapping per unit from annotator id to value.

    Absent annotators, None and NaN are missing values. `value_domain` lists the possible values
    (ordered, for ordinal and above); it is required for ordinal string values and rejects values
    outside it. Unused domain values do not change alpha: they have no pairable occurrences.

    Returns None when alpha is undefined: no unit has two values to pair, or every pairable value
    is the same. Krippendorff defines alpha as 0/0 there (no variation, so D_e = 0): unanimous
    agreement on a single value carries no evidence of reliability, so it is neither 1 nor 0.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}, expected one of {LEVELS}")
    # Units with fewer than two values pair with nothing and contribute nothing to alpha.
    pairable = [vs for unit in units if len(vs := [v for v in unit.values() if not _missing(v)]) >= 2]
    if not pairable:
        return None
    coded, domain = _encode(pairable, level, value_domain)
    if len({v for unit in coded for v in unit}) < 2:
        return None

    # Coder identity does not matter to alpha (only per-unit values do), so each unit's values
    # simply fill the first rows of its column.
    data = np.full((max(len(u) for u in coded), len(coded)), np.nan)
    for column, unit in enumerate(coded):
        data[: len(unit), column] = unit
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = float(
            krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=domain)
        )
    # Ratio data can still lack variation in its metric (e.g. only -x and x): undefined as well.
    return alpha if math.isfinite(alpha) else None


def dataset_agreement(episodes: Sequence[Sequence[Judgement]]) -> DatasetAgreement:
    """Agreement on ratings (nominal) and on each 1-5 quality grade (ordinal) across episodes."""
    rating_units: list[dict[int, object]] = []
    grade_units: dict[str, list[dict[int, object]]] = {name: [] for name in GRADE_NAMES}
    for judgements in episodes:
        ids = [j.annotator_id for j in judgements]
        if len(set(ids)) != len(ids):
            raise ValueError("each annotator may contribute at most one judgement per episode")
        rating_units.append({j.annotator_id: j.rating for j in judgements})
        for name in GRADE_NAMES:
            grade_units[name].append({j.annotator_id: j.grades.get(name) for j in judgements})
    return DatasetAgreement(
        rating_alpha=krippendorff_alpha(rating_units, "nominal", value_domain=RATINGS),
        grade_alphas={
            name: krippendorff_alpha(units, "ordinal", value_domain=list(GRADE_RANGE))
            for name, units in grade_units.items()
        },
        units=sum(1 for judgements in episodes if len(judgements) >= 2),
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _encode(
    units: list[list[Any]], level: str, value_domain: Sequence[Any] | None
) -> tuple[list[list[float]], list[float]]:
    """Turn values into floats the library accepts, with the matching value domain."""
    if level in ("interval", "ratio"):
        # Distances use the values themselves, which must therefore be numbers.
        coded = [[float(v) for v in unit] for unit in units]
        seen = sorted({v for unit in coded for v in unit})
        domain = seen if value_domain is None else [float(v) for v in value_domain]
        _check_in_domain(seen, set(domain))
        return coded, domain
    # Nominal and ordinal distances depend only on a value's identity (nominal) or its rank in the
    # domain (ordinal), so integer codes in domain order are exact and also work for strings.
    if value_domain is None:
        distinct = list(dict.fromkeys(v for unit in units for v in unit))
        ordered = distinct if level == "nominal" else sorted(distinct)
    else:
        ordered = list(value_domain)
    code = {v: i for i, v in enumerate(ordered)}
    _check_in_domain([v for unit in units for v in unit], code)
    return [[float(code[v]) for v in unit] for unit in units], [float(i) for i in range(len(ordered))]


def _check_in_domain(values: Sequence[Any], domain: Container[Any]) -> None:
    outside = {repr(v) for v in values if v not in domain}
    if outside:
        raise ValueError(f"values outside the value domain: {sorted(outside)}")
