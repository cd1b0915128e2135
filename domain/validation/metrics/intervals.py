"""95 % confidence intervals: Wilson's score interval for a proportion, percentile interval of a sample.

Wilson rather than the normal approximation because precision and recall sit near 1 for a good
detector and are often computed from few boxes per label, where p +- z * sqrt(p(1-p)/n) leaves [0, 1]
or collapses to a point (it is [1, 1] for 10 out of 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)


@dataclass(frozen=True)
class Interval:
    """A two-sided 95 % confidence interval, low <= high."""

    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """Wilson score interval for successes / trials; None when there are no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # The bound at an end is exactly 0 (no success) or 1 (all successes); floats land a hair off.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high)


def percentile_interval(samples: np.ndarray) -> Interval | None:
    """2.5th and 97.5th percentiles (numpy's linear interpolation) of the finite samples; None if none.

    A resample where the statistic is undefined (NaN, e.g. no ground truth drawn) is left out.
    """
    finite = np.asarray(samples, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return None
    low, high = np.percentile(finite, [2.5, 97.5])
    return Interval(float(low), float(high))
