"""Cursor helpers shared by every connection: opaque cursors over keyset positions."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from strawberry import relay

from domain.errors import BadUserInput, LimitExceeded
from persistence.settings import Settings


def encode_cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def decode_cursor(cursor: str | None, kind: str, field: str = "after") -> int | None:
    if cursor is None:
        return None
    try:
        prefix, key = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        if prefix == kind:
            return int(key)
    except (ValueError, UnicodeDecodeError):
        pass
    raise BadUserInput(f"{field} is not a cursor of this list", field=field)


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
    try:
        prefix, first, second = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 2)
        if prefix == kind:
            return int(first), int(second)
    except (ValueError, UnicodeDecodeError):
        pass
    raise BadUserInput(f"{field} is not a cursor of this list", field=field)


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
