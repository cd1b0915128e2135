"""Custom scalars. Numeric arrays travel as one scalar each: a JSON array the client reads
directly, instead of a GraphQL list that the server would complete element by element."""

from __future__ import annotations

from typing import NewType

import numpy as np
import strawberry


def serialize_array(value: np.ndarray) -> list:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        if array.dtype != np.float64:
            # float32 holds ~7 significant digits; rounding keeps the JSON short and the values exact.
            array = np.round(array.astype(np.float64), 7)
        if not np.isfinite(array).all():
            # JSON has no NaN or Infinity: they travel as null.
            return np.where(np.isfinite(array), array, None).tolist()
    return array.tolist()


NumericArray = strawberry.scalar(
    NewType("NumericArray", object),
    name="NumericArray",
    description=(
        "A numeric array as a JSON array (nested for matrices, one inner array per column). "
        "NaN and infinite values are null."
    ),
    serialize=serialize_array,
    parse_value=lambda v: np.asarray(v, dtype=np.float64),
)
