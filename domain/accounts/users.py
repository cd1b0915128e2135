"""Users and their roles. Roles are ordered: each can do what the ones before it can."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.core.errors import BadUserInput, NotFound, check_text
from domain.core.runtime import Runtime
from persistence.repositories import user as users_repo
from persistence.tables import UserRow

LOCAL_ADMIN = "local-admin"
NAME_MAX = 100


class Role(StrEnum):
    VIEWER = "VIEWER"  # reads
    ANNOTATOR = "ANNOTATOR"  # also writes their own annotations
    REVIEWER = "REVIEWER"  # also validates and edits anyone's
    ADMIN = "ADMIN"  # also registers datasets, manages projects and users

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as resolved once per request."""

    user_id: int
    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)


def viewer_of(row: UserRow) -> Viewer:
    return Viewer(row.id, row.name, Role(row.role))


async def create_user(rt: Runtime, name: str, role: Role, field: str = "name") -> UserRow:
    name = check_text(name, field, max_length=NAME_MAX)
    try:
        async with rt.sessions() as session, session.begin():
            return await users_repo.create_user(session, name, role.value)
    except IntegrityError:
        raise BadUserInput(f"a user named {name!r} exists already", field=field) from None


async def set_role(rt: Runtime, user_id: int, role: Role) -> UserRow:
    async with rt.sessions() as session, session.begin():
        row = await users_repo.read_user(session, user_id)
        if row is None:
            raise NotFound(f"user {user_id} does not exist", field="id")
        row.role = role.value
        await session.flush()
    rt.verified_tokens.clear()  # cached viewers carry the old role
    return row


async def ensure_user(rt: Runtime, name: str, role: Role) -> UserRow:
    """The user of this name, created with `role` if absent (the local admin, the first admin)."""
    async with rt.sessions() as session:
        return await _ensure_user(session, name, role)


async def _ensure_user(session: AsyncSession, name: str, role: Role, first_of_role: bool = False) -> UserRow:
    """The user of this name (with `first_of_role`: the first user with `role`, if any), created with
    `role` if absent: the read and the insert are one transaction of `session`, which must have none."""
    try:
        async with session.begin():
            row = await users_repo.first_user_with_role(session, role.value) if first_of_role else None
            row = row or await users_repo.read_user_by_name(session, name)
            if row is not None:
                return row
            return await users_repo.create_user(
                session, check_text(name, "name", max_length=NAME_MAX), role.value
            )
    except IntegrityError:  # created meanwhile by another process: read after the rollback
        row = await users_repo.read_user_by_name(session, name)
        assert row is not None  # the other process committed it
        return row


async def find_user(rt: Runtime, name: str) -> UserRow:
    async with rt.sessions() as session:
        row = await users_repo.read_user_by_name(session, name)
    if row is None:
        raise NotFound(f"no user is named {name!r}", field="name")
    return row


async def first_admin(rt: Runtime, default_name: str = "admin") -> UserRow:
    """The first admin, or the user `default_name` (created as an admin if absent)."""
    async with rt.sessions() as session:
        return await _ensure_user(session, default_name, Role.ADMIN, first_of_role=True)


async def users_by_ids(rt: Runtime, ids: Sequence[int]) -> list[UserRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await users_repo.read_users_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def list_users(rt: Runtime, *, after_id: int | None, limit: int) -> list[UserRow]:
    async with rt.sessions() as session:
        return await users_repo.list_users(session, after_id=after_id, limit=limit)


async def count_users(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return await users_repo.count_users(session)
