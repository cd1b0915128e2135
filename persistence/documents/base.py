"""The base model of what a JSON column holds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Document(BaseModel):
    """Stored under camelCase keys (the names the graph shows), read as snake_case attributes; keys a
    model does not name are ignored on read. Frozen: a column's value is replaced as a whole, never
    changed in place (a change in place would not be saved: the column does not track mutation)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True, extra="ignore"
    )
