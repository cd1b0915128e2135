from __future__ import annotations

import strawberry
from strawberry import relay

from domain import users
from graph.context import Info
from graph.permissions import IsAdmin
from graph.types.pagination import decode_cursor, encode_cursor, page_size
from graph.types.user import User, UserConnection


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user, or null for an anonymous request.")
    async def viewer(self, info: Info) -> User | None:
        viewer = info.context.viewer
        if viewer is None:
            return None
        row = await info.context.loaders.user.load(viewer.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="All users, oldest first (admins only).", permission_classes=[IsAdmin])
    async def users(self, info: Info, first: int | None = None, after: str | None = None) -> UserConnection:
        rt = info.context.runtime
        limit = page_size(first, rt.settings)
        after_id = decode_cursor(after, "user")
        rows = await users.list_users(rt, after_id=after_id, limit=limit + 1)
        edges = [relay.Edge(cursor=encode_cursor("user", r.id), node=User.from_row(r)) for r in rows[:limit]]
        return UserConnection(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=len(rows) > limit,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
