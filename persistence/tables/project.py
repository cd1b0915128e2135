from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import StoredCriteria
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class ProjectRow(SQLModel, table=True):
    """A validation project: linked episodes, the label names it validates, pass/fail criteria."""

    __tablename__ = "project"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    name: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default="ACTIVE", sa_column=Column(String(10), nullable=False))
    owner_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    # Label names, not ids: linked episodes come from several datasets, each with its own label set.
    labels: list[str] = Field(default_factory=list, sa_column=Column(TypedJSON(list[str]), nullable=False))
    # minPrecision, minRecall, minF1, minAp50, maxP95LatencyMs, matchIou (camelCase, optional; criteria
    # saved before the rename have iouThreshold for matchIou).
    criteria: StoredCriteria = Field(
        default_factory=StoredCriteria, sa_column=Column(TypedJSON(StoredCriteria), nullable=False)
    )
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
