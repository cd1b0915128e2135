from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import RevisionContent
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class AnnotationRevisionRow(SQLModel, table=True):
    """Every accepted save of an episode annotation, as saved: nothing accepted is ever lost."""

    __tablename__ = "annotation_revision"
    __table_args__ = (
        UniqueConstraint("annotation_id", "version", name="uq_annotation_revision_version"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    annotation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode_annotation.id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    content: RevisionContent = Field(sa_column=Column(TypedJSON(RevisionContent), nullable=False))
    saved_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    saved_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
