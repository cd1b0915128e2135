from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import StoredEdits
from persistence.tables.base import SQLModel


class EpisodeEditRow(SQLModel, table=True):
    """The training edits saved on an episode (frames removed, trim, per-camera transforms);
    `version` rises by one with every save, as for annotations."""

    __tablename__ = "episode_edit"

    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), primary_key=True)
    )
    version: int = 1
    edits: StoredEdits = Field(
        default_factory=StoredEdits, sa_column=Column(TypedJSON(StoredEdits), nullable=False)
    )
    updated_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
