"""A device's detections as columns (one array per field) instead of one object per event.

The columnar batch holds the same events as ingest.py's per-event batch, column by column: event i
is (episode_id[i], camera[i], frame[i], ...). Each column is checked for its type here (an error names
the column and the index, `columns.<field>[i]`), the events then go through ingest.py's checks and
are written the same way (with COPY on PostgreSQL), so a columnar batch stores the same rows as the
per-event batch of the same events and publishes the same event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput
from domain.core.runtime import Runtime
from domain.validation import ingest_column_checks as column_checks
from domain.validation.ingest import (
    MAX_EVENTS,
    CheckedBatch,
    DetectionEventInput,
    batch_context,
    check_batch,
    check_events,
    ingest_batch,
)
from persistence.tables import TestSessionRow

# Field -> (accepted Python types, required), in DetectionEventInput's field order: numbers take
# int or float (never bool), times are ISO-8601 text. `episode_id` holds episode ids (ints: the graph
# decodes its global ids first).
COLUMNS: dict[str, tuple[tuple[type, ...], bool]] = {
    "episode_id": ((int,), True),
    "camera": ((str,), True),
    "frame": ((int,), False),
    "timestamp": ((int, float), False),
    "label": ((str,), False),
    "x": ((int, float), False),
    "y": ((int, float), False),
    "width": ((int, float), False),
    "height": ((int, float), False),
    "score": ((int, float), False),
    "sent_at": ((str,), False),
    "signal_path": ((str,), False),
}
_NAMES = {
    "episode_id": "a whole number",
    "camera": "text",
    "frame": "a whole number",
    "label": "text",
    "sent_at": "an ISO-8601 time",
    "signal_path": "text",
}


def column_field(name: str, index: int | None = None, prefix: str = "columns") -> str:
    """The field path of a column, or of one of its values: `columns.x`, `columns.x[3]`."""
    return f"{prefix}.{name}" if index is None else f"{prefix}.{name}[{index}]"


def events_of_columns(columns: Mapping[str, Sequence | None]) -> list[DetectionEventInput]:
    """The events a columnar batch holds, in index order (checked_columns' checks and errors)."""
    return _events(*checked_columns(columns))


def checked_columns(columns: Mapping[str, Sequence | None]) -> tuple[dict[str, list | None], int]:
    """The columns of a columnar batch, each checked for its type, and the number of events n.

    `columns` maps field names (COLUMNS) to equally long arrays; an optional column may be left out
    or null (null everywhere): its value here is None. sent_at comes back parsed (datetimes; one
    object per distinct text). BAD_USER_INPUT, naming the field: an unknown or missing column, a
    column that is not an array or whose length differs from `episode_id`'s, an empty or too large
    batch (MAX_EVENTS), a value of the wrong type or null in a required column (`columns.<field>[i]`),
    a time that is not ISO-8601."""
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise BadUserInput(
            f"columns.{unknown[0]}: not a column (columns are {', '.join(COLUMNS)})",
            field=column_field(unknown[0]),
        )
    n = None
    arrays: dict[str, list | None] = {}
    for name, (_, required) in COLUMNS.items():
        values = columns.get(name)
        if values is None:
            if required:
                raise BadUserInput(f"columns.{name}: the column is required", field=column_field(name))
            arrays[name] = None
            continue
        if not isinstance(values, list):
            raise BadUserInput(f"columns.{name}: an array is needed", field=column_field(name))
        if n is None:
            n = len(values)
            if n == 0:
                raise BadUserInput("columns: the batch is empty", field="columns")
            if n > MAX_EVENTS:
                raise BadUserInput(
                    f"columns: at most {MAX_EVENTS} events per batch, got {n}", field="columns"
                )
        elif len(values) != n:
            raise BadUserInput(
                f"columns.{name}: {len(values)} values, but columns.episode_id has {n}",
                field=column_field(name),
            )
        _check_types(name, values)
        arrays[name] = values
    assert n is not None  # episode_id is required
    arrays["sent_at"] = _times(arrays["sent_at"])
    return arrays, n


def _events(arrays: dict[str, list | None], n: int) -> list[DetectionEventInput]:
    empty: list = [None] * n
    # COLUMNS is in DetectionEventInput's field order: event i is the i-th value of each.
    return [DetectionEventInput(*event) for event in zip(*(arrays[f] or empty for f in COLUMNS), strict=True)]


def _check_types(name: str, values: Sequence) -> None:
    kinds, required = COLUMNS[name]
    # The types present, gathered without a Python loop; only a column holding a wrong one is searched
    # value by value for the first (bool is an int subclass: `type` refuses it, isinstance would not).
    if set(map(type, values)) <= {*kinds, *(() if required else (type(None),))}:
        return
    for i, value in enumerate(values):
        if value is None:
            if required:
                raise BadUserInput(
                    f"columns.{name}[{i}]: a value is needed, got null", field=column_field(name, i)
                )
        elif type(value) not in kinds:
            wanted = _NAMES.get(name, "a number")
            raise BadUserInput(
                f"columns.{name}[{i}]: {wanted} is needed, got {value!r:.40}", field=column_field(name, i)
            )


def _times(values: list[str | None] | None) -> list[datetime | None] | None:
    """sent_at parsed once per distinct text (a device usually stamps a batch with one time): one
    datetime object per text."""
    if values is None:
        return None
    parsed: dict[str | None, datetime | None] = {None: None}
    for value in dict.fromkeys(values):
        if value is not None:
            try:
                parsed[value] = datetime.fromisoformat(value)
            except ValueError:
                i = values.index(value)  # the first event with this text
                raise BadUserInput(
                    f"columns.sent_at[{i}]: {value!r:.40} is not an ISO-8601 time",
                    field=column_field("sent_at", i),
                ) from None
    return list(map(parsed.__getitem__, values))


_EVENT_FIELD = re.compile(r"events\[(\d+)\]\.(\w+)")


def _as_column(text: str) -> str:
    return _EVENT_FIELD.sub(lambda m: column_field(m.group(2), int(m.group(1))), text)


async def ingest_detection_columns(
    rt: Runtime, viewer: Viewer, session_id: int, columns: Mapping[str, Sequence | None]
) -> int:
    """Store a columnar batch of a device's detections (checked_columns); the number of detections
    stored. As ingest.ingest_detection_events, all or nothing, with the same checks, rows and event,
    written with COPY on PostgreSQL; an event's error names its column and index
    (`columns.<field>[i]`) instead of `events[i].<field>`.

    The events are checked column-wise (ingest_column_checks.py); a batch with a fault goes through
    ingest.check_events, so the error reported is the per-event path's own."""
    arrays, n = checked_columns(columns)

    async def check(session: AsyncSession, row: TestSessionRow, received: datetime) -> CheckedBatch:
        check_batch(row, n)
        timed = column_checks.timed_episodes(arrays, set(row.episode_ids))
        context = await batch_context(rt, session, row, timed)
        checked = column_checks.checked_rows(arrays, n, row, context, received)
        if checked is None:
            return check_events(row, context, _events(arrays, n), received)
        return checked

    try:
        return await ingest_batch(rt, session_id, check, copy=True)
    except BadUserInput as exc:
        field = None if exc.field is None else _as_column(exc.field)
        raise BadUserInput(_as_column(exc.message), field=field, **exc.details) from None
