"""Inputs checked at the graph's edge: a domain request model built from what the client sent.

`checked(Model, **values)` validates a domain pydantic request model (its fields' bounds and its
validators); the first wrong value is BAD_USER_INPUT naming it in domain terms (`frame_stride`,
`criteria.min_ap50`, `episodes.2.index`), which graph/errors.py shows as the argument the client sent
(`input.frameStride`). Checks that need the database stay in the services.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.core.errors import bad_input

M = TypeVar("M", bound=BaseModel)


def checked(model: type[M], **values: Any) -> M:
    """`model(**values)`, or BAD_USER_INPUT naming the first value it refuses."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise bad_input(exc) from None
