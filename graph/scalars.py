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


# The type fields are annotated with; `SCALARS` (passed to the schema's config) says how it travels.
# Strawberry's `scalar_map` keeps the annotation a plain type, which type checkers can read.
NumericArray = NewType("NumericArray", object)

NUMERIC_ARRAY = strawberry.scalar(
    name="NumericArray",
    description=(
        "A numeric array as a JSON array (nested for matrices, one inner array per column). "
        "NaN and infinite values are null."
    ),
    serialize=serialize_array,
    parse_value=lambda v: np.asarray(v, dtype=np.float64),
)

SCALARS = {NumericArray: NUMERIC_ARRAY}
