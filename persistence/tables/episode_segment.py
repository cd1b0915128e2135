from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, Text
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class EpisodeSegmentRow(SQLModel, table=True):
    """One annotator's time segment of an episode: frames from_frame..to_frame (inclusive) carrying a
    segment label; `version` rises by one with every accepted change. Times are seconds from the
    episode's own timestamps at the two frames."""

    __tablename__ = "episode_segment"
    __table_args__ = (
        Index("ix_episode_segment_episode_annotator", "episode_id", "annotator_id"),
        Index("ix_episode_segment_label", "label_id"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    annotator_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    )
    # A label in use cannot be deleted (RESTRICT): its segments would lose their meaning.
    label_id: int = Field(
        sa_column=Column(Integer, ForeignKey("segment_label.id", ondelete="RESTRICT"), nullable=False)
    )
    version: int = 1
    from_frame: int = Field(sa_column=Column(Integer, nullable=False))
    to_frame: int = Field(sa_column=Column(Integer, nullable=False))
    from_time: float = Field(sa_column=Column(Float, nullable=False))
    to_time: float = Field(sa_column=Column(Float, nullable=False))
    instruction: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    updated_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class EpisodeSegmentTaskRow(SQLModel, table=True):
    """A reviewer's correction of an episode's task text (its language instruction). `original` is the
    text the episode had when first corrected, kept whatever the later corrections say."""

    __tablename__ = "episode_segment_task"

    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), primary_key=True)
    )
    text: str = Field(sa_column=Column(Text, nullable=False))
    original: str | None = Field(default=None, sa_column=Column(Text))
    version: int = 1
    corrected_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    corrected_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
