from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class LabelRow(SQLModel, table=True):
    """A class boxes may carry, in one dataset's label set (projects get theirs later)."""

    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("dataset_id", "name", name="uq_label_dataset_name"), NEVER_REUSE_IDS)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    dataset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    color: str = Field(sa_column=Column(String(7), nullable=False))  # "#rrggbb"
    parent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("label.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
