from __future__ import annotations

import strawberry

from domain.accounts import users
from graph.accounts.user import User, UserConnection
from graph.context import Info
from graph.core.pagination import decode_cursor, encode_cursor, page_of, page_size
from graph.permissions import IsAdmin


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user, or null for an anonymous request.")
    async def viewer(self, info: Info) -> User | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        row = await info.context.loaders.user.load(viewer.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(
        description="All users, oldest first (admins only; null with a FORBIDDEN error for others).",
        permission_classes=[IsAdmin],
    )
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> UserConnection | None:
        rt = info.context.runtime
        limit = page_size(first, rt.settings)
        after_id = decode_cursor(after, "user")
        rows = await users.list_users(rt, after_id=after_id, limit=limit + 1)
        edges, page_info = page_of(
            rows,
            limit,
            lambda r: encode_cursor("user", r.id),
            User.from_row,
            after_given=after_id is not None,
        )
        return UserConnection(edges=edges, page_info=page_info)
