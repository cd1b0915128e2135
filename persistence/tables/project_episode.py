from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import SQLModel


class ProjectEpisodeRow(SQLModel, table=True):
    """An episode linked to a project, with why and by whom; deleting either side removes only the link."""

    __tablename__ = "project_episode"
    __table_args__ = (Index("ix_project_episode_episode", "episode_id"),)

    project_id: int = Field(
        sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    )
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), primary_key=True)
    )
    reason: str | None = Field(default=None, sa_column=Column(Text))
    linked_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    linked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
