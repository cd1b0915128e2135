from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.tables import UserRow


async def read_user(session: AsyncSession, user_id: int) -> UserRow | None:
    return await session.get(UserRow, user_id)


async def read_user_by_name(session: AsyncSession, name: str) -> UserRow | None:
    return (await session.execute(select(UserRow).where(UserRow.name == name))).scalar_one_or_none()


async def read_users_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[UserRow]:
    return list((await session.execute(select(UserRow).where(UserRow.id.in_(ids)))).scalars())


async def read_users_by_names(session: AsyncSession, names: Sequence[str]) -> list[UserRow]:
    """The users with these names (one statement; unknown names are absent)."""
    return list((await session.execute(select(UserRow).where(UserRow.name.in_(names)))).scalars())


async def list_users(session: AsyncSession, *, after_id: int | None, limit: int) -> list[UserRow]:
    query = select(UserRow).order_by(UserRow.id).limit(limit)
    if after_id is not None:
        query = query.where(UserRow.id > after_id)
    return list((await session.execute(query)).scalars())


async def count_users(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(UserRow))).scalar_one()


async def first_user_with_role(session: AsyncSession, role: str) -> UserRow | None:
    query = select(UserRow).where(UserRow.role == role).order_by(UserRow.id).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def create_user(session: AsyncSession, name: str, role: str) -> UserRow:
    row = UserRow(name=name, role=role)
    session.add(row)
    await session.flush()
    return row
