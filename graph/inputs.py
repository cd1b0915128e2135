"""Inputs checked at the graph's edge: a domain request model built from what the client sent.

`checked(Model, **values)` validates a domain pydantic request model (its fields' bounds and its
validators); the first wrong value is BAD_USER_INPUT naming it in domain terms (`frame_stride`,
`criteria.min_ap50`, `episodes.2.index`), which graph/errors.py shows as the argument the client sent
(`input.frameStride`). Checks that need the database stay in the services.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from domain.core.errors import bad_input

M = TypeVar("M")


def checked(request: type[M], /, **values: Any) -> M:
    """`request(**values)`, or BAD_USER_INPUT naming the first value it refuses. `request` is a
    pydantic model or a pydantic dataclass (positional only: a request may have a field `request`)."""
    try:
        return request(**values)
    except ValidationError as exc:
        raise bad_input(exc) from None
