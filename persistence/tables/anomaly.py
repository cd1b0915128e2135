from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from persistence.tables.base import SQLModel


class AnomalyRow(SQLModel, table=True):
    """Something that went wrong in an episode, over a frame range, as one annotator marked it."""

    __tablename__ = "anomaly"
    __table_args__ = (Index("ix_anomaly_annotation", "annotation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    annotation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode_annotation.id", ondelete="CASCADE"), nullable=False)
    )
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
