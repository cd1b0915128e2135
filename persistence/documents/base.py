"""The base models of what a JSON column holds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Document(BaseModel):
    """Stored under camelCase keys (the names the graph shows), read as snake_case attributes; keys a
    model does not name are ignored on read. Frozen: a column's value is replaced as a whole, never
    changed in place (a change in place would not be saved: the column does not track mutation)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True, extra="ignore"
    )

    def stored(self) -> dict[str, Any]:
        """The JSON form, as stored (what the graph shows): the keys given, none added."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class NamedDocument(Document):
    """A Document stored under its fields' own names (snake_case, the domain's words): the columns whose
    keys were snake_case before the models (analysis values, annotation revisions) keep them."""

    model_config = ConfigDict(alias_generator=None)
