from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class ApiTokenRow(SQLModel, table=True):
    """A secret that acts as a user. Only its SHA-256 is stored; the secret is shown once.

    `kind` is `API` (issued by an admin), `LOGIN` (a one-time browser login code) or
    `SESSION` (the browser cookie a login code is exchanged for).
    """

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id"), NEVER_REUSE_IDS)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # The first characters of the secret, so a person can tell their tokens apart.
    prefix: str = Field(sa_column=Column(String(12), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
