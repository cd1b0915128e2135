from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class SegmentLabelRow(SQLModel, table=True):
    """A name time segments may carry ("reach", "grasp"), in one dataset's segment vocabulary.

    `may_overlap` false: a segment with this label may not overlap any other segment of the same
    annotator on the same episode (subtasks that follow one another)."""

    __tablename__ = "segment_label"
    __table_args__ = (
        UniqueConstraint("dataset_id", "name", name="uq_segment_label_dataset_name"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    dataset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    color: str = Field(sa_column=Column(String(7), nullable=False))  # "#rrggbb"
    may_overlap: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
