"""Cursor helpers shared by every connection: opaque cursors over keyset positions."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from strawberry import relay

from domain.core.errors import BadUserInput, LimitExceeded
from graph.ids import node_key
from persistence.settings import Settings


def encode_cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def _keys(cursor: str, kind: str, count: int) -> list[int] | None:
    """The `count` integer keys of a cursor of `kind`, or None when it is not one. Keys are what the
    list's columns hold (Integer), so a number out of their range is no cursor of ours either."""
    try:
        prefix, *keys = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", count)
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        return None
    values = [v for v in map(node_key, keys) if v is not None]
    return values if prefix == kind and len(values) == count else None


def decode_cursor(cursor: str | None, kind: str, field: str = "after") -> int | None:
    if cursor is None:
        return None
    keys = _keys(cursor, kind, 1)
    if keys is None:
        raise BadUserInput(f"{field} is not a cursor of this list", field=field)
    return keys[0]


def page_size(first: int | None, settings: Settings, field: str = "first") -> int:
    if first is None:
        return settings.page_size_default
    if first < 0:
        raise BadUserInput(f"{field} must not be negative", field=field)
    if first > settings.page_size_max:
        raise LimitExceeded(
            f"{field} may be at most {settings.page_size_max}, got {first}", field=field, limit="pageSize"
        )
    return first


def encode_pair_cursor(kind: str, first: int, second: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{first}:{second}".encode()).decode()


def decode_pair_cursor(cursor: str | None, kind: str, field: str = "after") -> tuple[int, int] | None:
    if cursor is None:
        return None
    keys = _keys(cursor, kind, 2)
    if keys is None:
        raise BadUserInput(f"{field} is not a cursor of this list", field=field)
    return keys[0], keys[1]


def page_of(rows: Sequence, limit: int, cursor: Callable, node: Callable, *, after_given: bool):
    """The edges of the first `limit` rows and the page info; the caller read `limit + 1` rows, so one
    more row than the page says whether a next page exists."""
    edges = [relay.Edge(cursor=cursor(r), node=node(r)) for r in rows[:limit]]
    info = relay.PageInfo(
        has_next_page=len(rows) > limit,
        has_previous_page=after_given,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return edges, info
