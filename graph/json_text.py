"""JSON text of GraphQL answers and WebSocket messages: one encoder for every path (HTTP, the
graphql-transport-ws handler, the payloads shared subscriptions encode once for all subscribers).

orjson writes what the graph answers several times faster than the standard library (a trajectory's
arrays, a page of boxes); what orjson refuses (an integer over 64 bits) falls back to `json`.
"""

from __future__ import annotations

import json

import orjson


def dumps(data: object) -> str:
    """`data` (dicts, lists, text, numbers, booleans, null) as compact JSON text."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(data, separators=(",", ":"))
