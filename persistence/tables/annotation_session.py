from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class AnnotationSessionRow(SQLModel, table=True):
    """Several people annotating one episode at once."""

    __tablename__ = "annotation_session"
    __table_args__ = (Index("ix_annotation_session_episode", "episode_id", "status"), NEVER_REUSE_IDS)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    status: str = Field(sa_column=Column(String(10), nullable=False))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
