"""What a box's JSON column holds: its custom attributes (object_annotation.attributes)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AllowInfNan, Strict

# A plain value: true/false, an integer, a finite number or a string, each kept as its own JSON type
# (strict: "1" stays a string, true stays a boolean, never coerced into one another).
AttributeValue = (
    Annotated[bool, Strict()]
    | Annotated[int, Strict()]
    | Annotated[float, Strict(), AllowInfNan(False)]
    | Annotated[str, Strict()]
)

# A box's custom attributes by name, as other tools carry them (CVAT's per-shape attributes: "age":
# "adult", "parked": true, ...). Values that are not plain (lists, objects, null) are not kept.
BoxAttributes = dict[str, AttributeValue]
