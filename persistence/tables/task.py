from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field

from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class TaskRow(SQLModel, table=True):
    """A task of a dataset (what the robot was asked to do), by its index in info.json."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("dataset_id", "index", name="uq_task_dataset_index"), NEVER_REUSE_IDS)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    dataset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False)
    )
    index: int
    description: str = Field(sa_column=Column(Text, nullable=False))
