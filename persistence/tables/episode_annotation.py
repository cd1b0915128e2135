from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class EpisodeAnnotationRow(SQLModel, table=True):
    """One annotator's judgement of one episode; `version` rises by one with every accepted save."""

    __tablename__ = "episode_annotation"
    __table_args__ = (
        UniqueConstraint("episode_id", "annotator_id", name="uq_episode_annotation_episode_annotator"),
        Index("ix_episode_annotation_annotator", "annotator_id"),
        Index("ix_episode_annotation_episode_rating", "episode_id", "rating"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    annotator_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = 1
    rating: str = Field(sa_column=Column(String(10), nullable=False))
    # How sure the annotator is, 1-5. The column keeps its first name, "confidence" (no migration for a
    # rename); its key, the name Python and SQL expressions use, is "certainty".
    certainty: int | None = Field(default=None, sa_column=Column("confidence", Integer, key="certainty"))
    completion: float | None = Field(default=None, sa_column=Column(Float))
    failure_reason: str | None = Field(default=None, sa_column=Column(Text))
    subtask_reached: str | None = Field(default=None, sa_column=Column(Text))
    smoothness: int | None = None
    efficiency: int | None = None
    safety: int | None = None
    precision: int | None = None
    video_quality: int | None = None
    sync_issues: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    missing_frames: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    data_notes: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    updated_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
