"""Writing a JSON column's value as it is, past the column's model: what rows written before the model
(or before a rename) hold, for tests that such rows still read."""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.columns import JSONType


async def write_raw_json(session: AsyncSession, table: str, column: str, row_id: int, value: object) -> None:
    statement = text(f"UPDATE {table} SET {column} = :value WHERE id = :id").bindparams(
        bindparam("value", type_=JSONType)
    )
    await session.execute(statement, {"value": value, "id": row_id})
