from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from domain.accounts import tokens, users
from domain.accounts.users import Role as RoleData
from graph.accounts.user import ApiToken, IssuedApiToken, Role, User
from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsAdmin, IsViewer


@strawberry.input(description="A new user.")
class CreateUserInput:
    name: str = strawberry.field(description="Unique name, 1 to 100 characters.")
    role: Role = strawberry.field(description="What the user may do.")


@strawberry.input(description="A token to issue for a user.")
class IssueApiTokenInput:
    user_id: relay.GlobalID = strawberry.field(description="Whose token it is.")
    name: str = strawberry.field(default="", description="What the token is for.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When it stops working; null for never."
    )


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="Create a user (admins only).", permission_classes=[IsAdmin])
    async def create_user(self, info: Info, input: CreateUserInput) -> User:
        row = await users.create_user(
            info.context.runtime, input.name, RoleData(input.role.value), field="input.name"
        )
        return User.from_row(row)

    @strawberry.mutation(description="Change a user's role (admins only).", permission_classes=[IsAdmin])
    async def set_user_role(self, info: Info, id: relay.GlobalID, role: Role) -> User:
        row = await users.set_role(info.context.runtime, decode_id(id, "User", "id"), RoleData(role.value))
        return User.from_row(row)

    @strawberry.mutation(
        description="Issue an API token for a user (admins only); its secret is in the answer, once.",
        permission_classes=[IsAdmin],
    )
    async def issue_api_token(self, info: Info, input: IssueApiTokenInput) -> IssuedApiToken:
        user_id = decode_id(input.user_id, "User", "input.userId")
        row, secret = await tokens.issue_token(
            info.context.runtime, user_id, input.name, expires_at=input.expires_at
        )
        return IssuedApiToken(secret=secret, token=ApiToken.from_row(row))

    @strawberry.mutation(
        description="Revoke a token at once: admins any token, others their own.",
        permission_classes=[IsViewer],
    )
    async def revoke_api_token(self, info: Info, id: relay.GlobalID) -> ApiToken:
        row = await tokens.revoke_token(
            info.context.runtime, decode_id(id, "ApiToken", "id"), info.context.require_viewer()
        )
        return ApiToken.from_row(row)
