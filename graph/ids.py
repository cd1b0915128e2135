"""Global ids in arguments: decode them and check they name the expected type.

The one place where a client's id text becomes a database key. The node part of an id is a row id: a
plain decimal integer (as `str(id)` writes it) that an Integer column can hold. Anything else never
reaches the database: `node`/`nodes` answer null for it, and an id argument is BAD_USER_INPUT (not an
integer) or NOT_FOUND (an integer no row can have), naming the argument.
"""

from __future__ import annotations

from typing import overload

from strawberry import relay

from domain.core.errors import BadUserInput, NotFound
from persistence.columns import INTEGER_MAX, INTEGER_MIN

# The longest text of an integer in range ("-2147483648"); longer text is not parsed at all.
_MAX_DIGITS = len(str(INTEGER_MIN))


def _integer(text: str) -> int | None:
    """`text` as an integer if it is written as `str(n)` writes it (no sign "+", spaces, underscores,
    leading zeros or non-ASCII digits, so one row has one id), else None."""
    if len(text) > _MAX_DIGITS + 1:
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if str(value) == text else None


def node_key(node_id: str) -> int | None:
    """The row id a global id's node part names, or None when it cannot name a row."""
    value = _integer(node_id)
    return value if value is not None and INTEGER_MIN <= value <= INTEGER_MAX else None


@overload
def decode_id(gid: relay.GlobalID, type_name: str, field: str) -> int: ...


@overload
def decode_id(gid: relay.GlobalID | None, type_name: str, field: str) -> int | None: ...


def decode_id(gid: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    """The row id of `gid`, which must name a `type_name`; None for None. BAD_USER_INPUT when the id is of
    another type or not an integer, NOT_FOUND when it is an integer no row can have."""
    if gid is None:
        return None
    if gid.type_name != type_name:
        raise BadUserInput(
            f"{field} must be the id of a {type_name}, got one of a {gid.type_name}", field=field
        )
    value = _integer(gid.node_id)
    if value is None:
        raise BadUserInput(f"{field} is not a valid {type_name} id", field=field)
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise NotFound(f"{field}: there is no {type_name} {value}", field=field)
    return value


def decode_ids(gids: list[relay.GlobalID], type_name: str, field: str) -> list[int]:
    return [decode_id(gid, type_name, f"{field}[{i}]") for i, gid in enumerate(gids)]
