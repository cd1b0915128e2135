from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class AnomalyRow(SQLModel, table=True):
    """Something that went wrong in an episode, over a frame range: marked by an annotator (in their
    annotation) or suggested by an analysis job (no annotation; `job_id` and `analysis_kind` set)."""

    __tablename__ = "anomaly"
    __table_args__ = (
        Index("ix_anomaly_annotation", "annotation_id"),
        Index("ix_anomaly_episode_kind", "episode_id", "analysis_kind"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    annotation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("episode_annotation.id", ondelete="CASCADE"), nullable=True),
    )
    job_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("job.id", ondelete="SET NULL"), nullable=True)
    )
    analysis_kind: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    position: int  # order within the annotation, as the annotator listed them
    type: str = Field(sa_column=Column(String(20), nullable=False))
    severity: str = Field(sa_column=Column(String(10), nullable=False))
    from_frame: int
    to_frame: int
    # Derived from the episode's timestamps when saved, never taken from the client.
    from_time: float = Field(sa_column=Column(Float, nullable=False))
    to_time: float = Field(sa_column=Column(Float, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    auto_detected: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    verified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
