"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# Every id column (and every other integer a client can name: indexes, frames, cursor keys) is an
# Integer: int4 on PostgreSQL, which refuses a larger number outright (SQLite would hold 64 bits).
# A number outside this range names nothing. tests/persistence/test_ids.py checks the id columns.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class TypedJSON(TypeDecorator):
    """A JSON column (JSONB on PostgreSQL, JSON text on SQLite, as JSONType) whose content is `content`:
    a pydantic model of persistence.documents, or any type a pydantic TypeAdapter validates
    (`list[str]`, ...). Rows read it as that type, validated; a write takes the type or its JSON form,
    validates it and stores its JSON form: a model by its aliases (the stored key names), with the
    fields it was given (one left to its default reads as the default again).

    What rows written before hold stays readable through the models themselves (defaults for keys added
    since, validation aliases for keys renamed): nothing is migrated, the database type is the same."""

    impl = JSON
    cache_ok = True  # `content` is a class or a typing form: hashable, and all the cache key needs

    def __init__(self, content: Any) -> None:
        super().__init__()
        self.content = content
        self._adapter: TypeAdapter[Any] = TypeAdapter(content)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = self._adapter.validate_python(value)
        if isinstance(value, BaseModel):  # its own class's fields, a subclass's too
            return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return self._adapter.dump_python(value, mode="json", by_alias=True)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self._adapter.validate_python(value)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, _dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)
