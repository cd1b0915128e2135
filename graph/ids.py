"""Global ids in arguments: decode them and check they name the expected type."""

from __future__ import annotations

from strawberry import relay

from domain.errors import BadUserInput


def decode_id(gid: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    if gid is None:
        return None
    if gid.type_name != type_name:
        raise BadUserInput(
            f"{field} must be the id of a {type_name}, got one of a {gid.type_name}", field=field
        )
    try:
        return int(gid.node_id)
    except ValueError:
        raise BadUserInput(f"{field} is not a valid {type_name} id", field=field) from None


def decode_ids(gids: list[relay.GlobalID], type_name: str, field: str) -> list[int]:
    return [decode_id(gid, type_name, f"{field}[{i}]") for i, gid in enumerate(gids)]
