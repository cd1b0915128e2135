from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents.object_annotation import BoxAttributes
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class ObjectAnnotationRow(SQLModel, table=True):
    """A box on one frame of one camera, in a track; `version` rises by one with every change."""

    __tablename__ = "object_annotation"
    __table_args__ = (
        # A track has at most one box per frame of a camera; also the index for reading a track.
        UniqueConstraint(
            "episode_id", "track_id", "camera", "frame", name="uq_object_annotation_track_frame"
        ),
        # A frame's boxes.
        Index("ix_object_annotation_frame", "episode_id", "camera", "frame"),
        # A page of an episode's boxes, in page order (frame, id): read n rows, never sort them all.
        Index("ix_object_annotation_page", "episode_id", "frame", "id"),
        # Review counts per episode.
        Index("ix_object_annotation_review", "episode_id", "review"),
        Index("ix_object_annotation_label", "label_id"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    camera: str = Field(sa_column=Column(String(100), nullable=False))
    frame: int
    x: float = Field(sa_column=Column(Float, nullable=False))
    y: float = Field(sa_column=Column(Float, nullable=False))
    width: float = Field(sa_column=Column(Float, nullable=False))
    height: float = Field(sa_column=Column(Float, nullable=False))
    # A label in use cannot be deleted (RESTRICT): boxes never lose their class silently.
    label_id: int = Field(
        sa_column=Column(Integer, ForeignKey("label.id", ondelete="RESTRICT"), nullable=False)
    )
    track_id: str = Field(sa_column=Column(String(100), nullable=False))
    occluded: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    truncated: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    difficult: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # The track left the view at this keyframe; interpolation does not cross it.
    outside: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(sa_column=Column(String(12), nullable=False))
    # A detector's score, 0-1. The column keeps its first name, "confidence" (no migration for a rename);
    # its key, the name Python and SQL expressions use, is "score".
    score: float | None = Field(default=None, sa_column=Column("confidence", Float, key="score"))
    keyframe: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    # COCO's iscrowd: a region of many objects (a crowd, a shelf of items), one box around them all.
    # Evaluation ignores it as COCOeval does: a detection on it is neither a hit nor a false alarm.
    crowd: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # Custom attributes with plain values, as another tool carried them (CVAT's per-shape attributes).
    attributes: BoxAttributes = Field(
        default_factory=dict,
        sa_column=Column(TypedJSON(BoxAttributes), nullable=False, server_default="{}"),
    )
    # The subset the imported file placed the box in (train / valid / test / default); exports write it.
    split: str | None = Field(default=None, sa_column=Column(String(100)))
    version: int = 1
    review: str = Field(default="PENDING", sa_column=Column(String(10), nullable=False))
    reviewed_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reject_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
