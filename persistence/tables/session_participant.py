from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class SessionParticipantRow(SQLModel, table=True):
    """A person in an annotation session: where they are, and when they were last seen."""

    __tablename__ = "session_participant"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_session_participant_user"),
        Index("ix_session_participant_seen", "left_at", "last_seen_at"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("annotation_session.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False))
    current_frame: int = 0
    joined_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
