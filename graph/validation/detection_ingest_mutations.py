"""ingestDetectionEventColumns: a device's detections as one array per field (the bulk input).

The argument is a JSON object, so graphql-core and Strawberry convert one value instead of 500 input
objects; domain/validation/ingest_columns.py checks every column and value and names the one at fault.
"""

from __future__ import annotations

import re

import strawberry
from strawberry import relay
from strawberry.relay.types import GlobalIDValueError
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from domain.core.errors import BadUserInput
from domain.validation import ingest_columns
from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsAnnotator

# The client's column names (camelCase, as DetectionEventInput's fields) -> the domain's.
WIRE = {to_camel_case(name): name for name in ingest_columns.COLUMNS}

DESCRIPTION = (
    "Detections from a device under test for a RUNNING EXTERNAL session, as columns: the same events "
    "as ingestDetectionEvents, all or nothing, with the same checks, stored rows and live event, but "
    "one array per field, so a large batch is not converted object by object (written with COPY on "
    "PostgreSQL). `columns` is a JSON object of equally long arrays, event i being the i-th value of "
    "each: episodeId (Episode ids) and camera (text) are required; frame (integers), timestamp "
    "(seconds), label (text; null: nothing on this frame), x, y, width, height (pixels), score (0-1; "
    "null: 1.0), sentAt (ISO-8601 times) and signalPath (NETWORK, SERIAL, CAN or GPIO) may be left out "
    "or hold nulls. At most 10,000 events. Errors name the column and index, e.g. `columns.x[12]`. "
    "Returns how many detections were stored."
)


def domain_columns(columns: object) -> dict[str, list | None]:
    """The client's columns keyed by the domain's names, episode ids decoded (each distinct id once).
    BAD_USER_INPUT naming `columns`, `columns.<name>` or `columns.episodeId[i]`."""
    if not isinstance(columns, dict):
        raise BadUserInput("columns: a JSON object of arrays is needed", field="columns")
    out: dict[str, list | None] = {}
    for key, values in columns.items():
        name = WIRE.get(key)
        if name is None:
            raise BadUserInput(
                f"columns.{key}: not a column (columns are {', '.join(WIRE)})", field=f"columns.{key}"
            )
        out[name] = values
    gids = out.get("episode_id")
    if isinstance(gids, list):
        decoded: dict[str, int] = {}
        ids = []
        for i, gid in enumerate(gids):
            value = decoded.get(gid) if isinstance(gid, str) else None
            if value is None:
                field = f"columns.episodeId[{i}]"
                if not isinstance(gid, str):
                    raise BadUserInput(f"{field}: an Episode id is needed, got {gid!r:.40}", field=field)
                try:
                    value = decoded[gid] = decode_id(relay.GlobalID.from_id(gid), "Episode", field)
                except GlobalIDValueError:
                    raise BadUserInput(f"{field} is not a valid Episode id", field=field) from None
            ids.append(value)
        out["episode_id"] = ids
    return out


@strawberry.type
class DetectionIngestMutations:
    @strawberry.mutation(description=DESCRIPTION, permission_classes=[IsAnnotator])
    async def ingest_detection_event_columns(
        self, info: Info, session_id: relay.GlobalID, columns: JSON
    ) -> int:
        try:
            return await ingest_columns.ingest_detection_columns(
                info.context.runtime,
                info.context.require_viewer(),
                decode_id(session_id, "TestSession", "sessionId"),
                domain_columns(columns),
            )
        except BadUserInput as exc:
            # `columns` is JSON, so graph/errors.py cannot map the domain's column names: done here.
            field = None if exc.field is None else _client_names(exc.field)
            raise BadUserInput(_client_names(exc.message), field=field, **exc.details) from None


_DOMAIN_COLUMN = re.compile(r"\bcolumns\.(\w+)")


def _client_names(text: str) -> str:
    """`columns.episode_id[3]` as the client wrote it: `columns.episodeId[3]`."""
    return _DOMAIN_COLUMN.sub(lambda m: f"columns.{to_camel_case(m.group(1))}", text)
