from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import ApiTokenRow, UserRow


async def create_token(session: AsyncSession, **values) -> ApiTokenRow:
    row = ApiTokenRow(**values)
    session.add(row)
    await session.flush()
    return row


async def read_token(session: AsyncSession, token_id: int) -> ApiTokenRow | None:
    return await session.get(ApiTokenRow, token_id)


async def read_token_with_user(session: AsyncSession, token_hash: str) -> tuple[ApiTokenRow, UserRow] | None:
    query = (
        select(ApiTokenRow, UserRow)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id)
        .where(ApiTokenRow.token_hash == token_hash)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def read_tokens_by_users(
    session: AsyncSession, user_ids: Sequence[int], kind: str
) -> list[ApiTokenRow]:
    query = (
        select(ApiTokenRow)
        .where(ApiTokenRow.user_id.in_(user_ids), ApiTokenRow.kind == kind)
        .order_by(ApiTokenRow.id)
    )
    return list((await session.execute(query)).scalars())


async def touch_token(session: AsyncSession, token_id: int, when: datetime) -> None:
    await session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=when))


async def revoke_token(session: AsyncSession, token_id: int, when: datetime) -> bool:
    """Revoke once: True only for the call that revoked it (so a login code is used once)."""
    result = await session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    # Session.execute is typed to give a Result; a DELETE or UPDATE gives a CursorResult.
    return cast(CursorResult, result).rowcount == 1
