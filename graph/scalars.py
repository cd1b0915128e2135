"""Custom scalars. Numeric arrays travel as one scalar each: a JSON array the client reads
directly, instead of a GraphQL list that the server would complete element by element."""

from __future__ import annotations

import numpy as np
import strawberry
from strawberry.types.scalar import ScalarDefinition


def serialize_array(value: np.ndarray) -> list:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        if array.dtype != np.float64:
            # float32 holds ~7 significant digits; rounding keeps the JSON short and the values exact.
            array = np.round(array.astype(np.float64), 7)
        if not np.isfinite(array).all():
            # JSON has no NaN or Infinity: they travel as null.
            return np.where(np.isfinite(array), array, np.array(None, dtype=object)).tolist()
    return array.tolist()


# What fields of numeric arrays are annotated with: they hold numpy arrays, which `SCALARS` (the
# schema's `scalar_map`) makes the NumericArray scalar. A plain type, so type checkers can read it.
NumericArray = np.ndarray

NUMERIC_ARRAY = strawberry.scalar(
    name="NumericArray",
    description=(
        "A numeric array as a JSON array (nested for matrices, one inner array per column). "
        "NaN and infinite values are null."
    ),
    serialize=serialize_array,
    parse_value=lambda v: np.asarray(v, dtype=np.float64),
)

SCALARS: dict[object, ScalarDefinition] = {NumericArray: NUMERIC_ARRAY}
