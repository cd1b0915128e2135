from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from domain.accounts.users import Role as RoleData
from graph.context import Info
from graph.permissions import IsSelfOrAdmin
from persistence.tables import ApiTokenRow, UserRow

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
Role = RoleData
strawberry.enum(
    Role,
    description=(
        "VIEWER reads; ANNOTATOR also writes their own annotations; REVIEWER also validates and "
        "edits anyone's; ADMIN also registers datasets and manages projects and users."
    ),
)


@strawberry.type(description="An API token (its secret is shown once, when it is issued).")
class ApiToken(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="What the token is for.")
    prefix: str = strawberry.field(description="The first characters of the secret, to tell tokens apart.")
    created_at: datetime = strawberry.field(description="When it was issued.")
    expires_at: datetime | None = strawberry.field(description="When it stops working; null for never.")
    last_used_at: datetime | None = strawberry.field(description="When it was last used (to the minute).")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked; null while valid.")

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> ApiToken:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        # Tokens are reached through their user (`User.tokens`), which checks who may see them.
        return [None for _ in node_ids]


@strawberry.type(description="A person or service that uses annograph.")
class User(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Unique name.")
    role: Role = strawberry.field(description="What the user may do.")
    created_at: datetime = strawberry.field(description="When the user was created.")

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(id=row.id, name=row.name, role=RoleData(row.role), created_at=row.created_at)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.user.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(
        description="The user's API tokens; only the user themself and admins see them (null for others).",
        permission_classes=[IsSelfOrAdmin],
    )
    async def tokens(self, info: Info) -> list[ApiToken] | None:
        return [ApiToken.from_row(r) for r in await info.context.loaders.api_tokens.load(self.id)]


@strawberry.type(description="A page of users.")
class UserConnection(relay.Connection[User]):
    @strawberry.field(description="Number of users.")
    async def total_count(self, info: Info) -> int:
        from domain.accounts.users import count_users

        return await count_users(info.context.runtime)


@strawberry.type(description="A newly issued token: the secret is shown here once and never again.")
class IssuedApiToken:
    secret: str = strawberry.field(description="Send it as `Authorization: Bearer <secret>`.")
    token: ApiToken = strawberry.field(description="The token's record.")
