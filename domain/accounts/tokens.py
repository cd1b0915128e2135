"""API tokens, one-time login codes and browser sessions: random secrets stored as SHA-256.

A secret has 256 random bits, so a plain SHA-256 (no salt, no slow hash) cannot be reversed or
guessed, and lets a request find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts.users import Role, Viewer, viewer_of
from domain.core.errors import BadUserInput, Forbidden, NotFound, Unauthenticated, check_text
from domain.core.runtime import Runtime
from persistence.columns import utcnow
from persistence.repositories import api_token as tokens_repo
from persistence.repositories import user as users_repo
from persistence.tables import ApiTokenRow

SECRET_PREFIX = "ag_"
# last_used_at is written at most this often per token: not one write per request.
TOUCH_INTERVAL = timedelta(minutes=1)


class TokenKind(StrEnum):
    API = "API"
    LOGIN = "LOGIN"
    SESSION = "SESSION"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_token(
    rt: Runtime,
    user_id: int,
    name: str,
    *,
    kind: TokenKind = TokenKind.API,
    expires_at: datetime | None = None,
) -> tuple[ApiTokenRow, str]:
    """A new token and its secret; the secret is never stored and cannot be shown again."""
    if expires_at is not None and expires_at <= utcnow():
        raise BadUserInput("expires_at must be in the future", field="expires_at")
    name = check_text(name, "name", max_length=100) if name.strip() else kind.value.lower()
    async with rt.sessions() as session, session.begin():
        return await _insert_token(session, user_id, name, kind, expires_at)


async def _insert_token(
    session: AsyncSession, user_id: int, name: str, kind: TokenKind, expires_at: datetime | None
) -> tuple[ApiTokenRow, str]:
    """A new token of the user, in the caller's transaction, and its secret; NOT_FOUND (user_id)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    if await users_repo.read_user(session, user_id) is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    row = await tokens_repo.create_token(
        session,
        user_id=user_id,
        kind=kind.value,
        name=name[:100],
        token_hash=hash_secret(secret),
        prefix=secret[:10],
        expires_at=expires_at,
    )
    return row, secret


async def revoke_token(rt: Runtime, token_id: int, by: Viewer) -> ApiTokenRow:
    """Admins revoke any token, everyone else only their own."""
    async with rt.sessions() as session, session.begin():
        row = await tokens_repo.read_token(session, token_id)
        if row is None or (row.user_id != by.user_id and not by.can(Role.ADMIN)):
            raise NotFound(f"token {token_id} does not exist", field="id")
        await tokens_repo.revoke_token(session, token_id, utcnow())
        await session.refresh(row)
    rt.verified_tokens.pop(row.token_hash, None)
    return row


async def authenticate(rt: Runtime, secret: str, *, kinds: Sequence[TokenKind]) -> Viewer:
    """The viewer a secret stands for; Unauthenticated says why it does not."""
    token_hash = hash_secret(secret)
    cached = rt.verified_tokens.get(token_hash)
    if cached is not None:
        kind, expires_at, viewer = cached
        if kind in kinds and (expires_at is None or expires_at > utcnow()):
            return viewer
    async with rt.sessions() as session:
        found = await tokens_repo.read_token_with_user(session, token_hash)
    if found is None or TokenKind(found[0].kind) not in kinds:
        raise Unauthenticated("the token is not valid")
    token, user = found
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthenticated("the token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("the token has expired")
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        # Apart from the read: a request's token lookup takes no write transaction, this bookkeeping
        # one at most once a minute per token.
        async with rt.sessions() as session, session.begin():
            await tokens_repo.touch_token(session, token.id, now)
    viewer = viewer_of(user)
    rt.verified_tokens[token_hash] = (TokenKind(token.kind), token.expires_at, viewer)
    return viewer


async def create_login_code(rt: Runtime, user_id: int) -> str:
    """A one-time code for the browser (printed by `annograph serve`, like Jupyter's token)."""
    expires = utcnow() + timedelta(minutes=rt.settings.login_code_minutes)
    _, secret = await issue_token(rt, user_id, "login link", kind=TokenKind.LOGIN, expires_at=expires)
    return secret


async def exchange_login_code(rt: Runtime, code: str) -> str:
    """Use a login code (once) and return a session secret for the cookie. The code's checks, its use
    and the session token are one transaction: a code is spent only on a session issued."""
    async with rt.sessions() as session, session.begin():
        found = await tokens_repo.read_token_with_user(session, hash_secret(code))
        if found is None or found[0].kind != TokenKind.LOGIN:
            raise Unauthenticated("the login code is not valid")
        token, user = found
        if token.expires_at is not None and token.expires_at <= utcnow():
            raise Unauthenticated("the login code has expired")
        # Guarded: of two uses at once, one revokes it and the other finds it revoked.
        if not await tokens_repo.revoke_token(session, token.id, utcnow()):
            raise Unauthenticated("the login code was used already")
        expires = utcnow() + timedelta(days=rt.settings.session_days)
        _, secret = await _insert_token(session, user.id, "browser session", TokenKind.SESSION, expires)
    return secret


async def end_session(rt: Runtime, secret: str) -> bool:
    """Sign a browser session out: its token is revoked (and dropped from the cache), so the cookie
    no longer counts even if a copy of it is kept. True when a live session was ended; any other secret
    (unknown, an API token, revoked already) is left alone."""
    token_hash = hash_secret(secret)
    async with rt.sessions() as session, session.begin():
        found = await tokens_repo.read_token_with_user(session, token_hash)
        if found is None or found[0].kind != TokenKind.SESSION:
            return False
        ended = await tokens_repo.revoke_token(session, found[0].id, utcnow())
    rt.verified_tokens.pop(token_hash, None)
    return ended


async def api_tokens_of(rt: Runtime, user_ids: Sequence[int]) -> list[list[ApiTokenRow]]:
    async with rt.sessions() as session:
        rows = await tokens_repo.read_tokens_by_users(session, user_ids, TokenKind.API.value)
    grouped: dict[int, list[ApiTokenRow]] = {u: [] for u in user_ids}
    for row in rows:
        grouped[row.user_id].append(row)
    return [grouped[u] for u in user_ids]


def check_same_user_or_admin(viewer: Viewer, user_id: int) -> None:
    if viewer.user_id != user_id and not viewer.can(Role.ADMIN):
        raise Forbidden("only the user themself or an admin may do this")
