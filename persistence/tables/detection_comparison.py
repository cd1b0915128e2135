from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String
from sqlmodel import Field

from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class DetectionComparisonRow(SQLModel, table=True):
    """The evaluation's verdict on one detection or one ground-truth box: TP (a matched pair), FP
    (a detection matched to nothing), FN (a box no detection matched) or IG (IGNORED: a detection on a
    difficult box, or a difficult box, counted in none of the others)."""

    __tablename__ = "detection_comparison"
    __table_args__ = (
        Index("ix_detection_comparison_session", "session_id", "kind"),
        # A page of a session's comparisons, in page order (id).
        Index("ix_detection_comparison_page", "session_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("test_session.id", ondelete="CASCADE"), nullable=False)
    )
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    camera: str = Field(sa_column=Column(String(100), nullable=False))
    frame: int
    label: str = Field(sa_column=Column(String(100), nullable=False))
    kind: str = Field(sa_column=Column(String(2), nullable=False))  # TP | FP | FN | IG
    iou: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    detection_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("detection_event.id", ondelete="CASCADE"))
    )
    annotation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("object_annotation.id", ondelete="SET NULL"))
    )
    # Device time minus the frame's time, in ms, for detections that carried a device timestamp.
    temporal_offset_ms: float | None = Field(default=None, sa_column=Column(Float))
