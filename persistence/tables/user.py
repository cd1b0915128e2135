from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class UserRow(SQLModel, table=True):
    """A person (or a service) who reads, annotates, reviews or administers."""

    __tablename__ = "user"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
