"""Renamed fields: the old name stays for one release as a deprecated alias of the new one.

One value has one name in the schema (issue 16): a detector's value is `score`, its knobs are
`scoreThreshold` (lowest score kept) and `nmsIou` (non-maximum suppression), the IoU a detection needs
to match a box is `matchIou`, and an annotator's 1-5 certainty is `certainty`. The old names
(`confidence`, `iou`, `iouThreshold`) answer the same value on output types and are still accepted on
inputs; README's "Deprecated names" lists them. Both names given with different values is
BAD_USER_INPUT naming the new field, so a client half way through the move learns which one to keep.
"""

from __future__ import annotations

from typing import TypeVar, overload

from domain.core.errors import BadUserInput

T = TypeVar("T")


def use(new: str) -> str:
    """The deprecation reason of an old field name whose value is now called `new`."""
    return f"Use `{new}`; removed in the next release"


@overload
def renamed(new_value: T | None, old_value: T | None, *, field: str, old: str) -> T | None: ...
@overload
def renamed(new_value: T | None, old_value: T | None, *, field: str, old: str, default: T) -> T: ...
def renamed(
    new_value: T | None, old_value: T | None, *, field: str, old: str, default: T | None = None
) -> T | None:
    """The value of an input field given under its new name or its deprecated `old` name, else `default`.
    `field` is the new field's path (`input.scoreThreshold`), named by the error when both are given with
    different values. (Both fields default to null in the schema, so "given" is "not null": a default
    value on the new field could not be told from a value the client chose.)"""
    if new_value is not None and old_value is not None and new_value != old_value:
        parent, _, name = field.rpartition(".")
        old_path = f"{parent}.{old}" if parent else old
        raise BadUserInput(
            f"{field}: {old_path} is its deprecated name; give one of the two, not {new_value!r} and "
            f"{old_value!r}",
            field=field,
        )
    if new_value is not None:
        return new_value
    return old_value if old_value is not None else default
