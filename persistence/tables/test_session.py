from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import SessionMetrics, SessionSettings, StoredCriteria
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class TestSessionRow(SQLModel, table=True):
    """One run of a detector (MODEL) or one device's stream (EXTERNAL) over a project's episodes."""

    __tablename__ = "test_session"
    __table_args__ = (Index("ix_test_session_project", "project_id"), NEVER_REUSE_IDS)
    __test__ = False  # not a pytest class, despite the name

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    project_id: int = Field(
        sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(200), nullable=False))
    source: str = Field(sa_column=Column(String(10), nullable=False))  # MODEL | EXTERNAL
    model: str | None = Field(default=None, sa_column=Column(String(500)))
    # CREATED -> RUNNING -> EVALUATING -> COMPLETED (or STOPPED, evaluated on what it processed) | FAILED
    status: str = Field(default="CREATED", sa_column=Column(String(12), nullable=False))
    episode_ids: list[int] = Field(
        default_factory=list, sa_column=Column(TypedJSON(list[int]), nullable=False)
    )
    cameras: list[str] | None = Field(default=None, sa_column=Column(TypedJSON(list[str])))
    # The IoU a detection needs to match a box. The column keeps its first name, "iou_threshold" (no
    # migration for a rename); its key, the name Python and SQL expressions use, is "match_iou".
    match_iou: float = Field(
        default=0.5, sa_column=Column("iou_threshold", Float, nullable=False, key="match_iou")
    )
    tolerance_ms: float = Field(default=100.0, sa_column=Column(Float, nullable=False))
    # Detector settings for MODEL sessions: scoreThreshold, nmsIou, classMap, frameStride, imageSize,
    # maxDetections (sessions created before the rename have confidence and iou for the first two).
    settings: SessionSettings = Field(
        default_factory=SessionSettings, sa_column=Column(TypedJSON(SessionSettings), nullable=False)
    )
    # The project's criteria when the session was evaluated: a verdict stays what it was.
    criteria: StoredCriteria = Field(
        default_factory=StoredCriteria, sa_column=Column(TypedJSON(StoredCriteria), nullable=False)
    )
    frames_total: int = 0
    job_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("job.id", ondelete="SET NULL"))
    )
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    evaluated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set by the evaluation: metrics (overall, per label, intervals, latency), verdict and reasons.
    metrics: SessionMetrics | None = Field(default=None, sa_column=Column(TypedJSON(SessionMetrics)))
    passed: bool | None = Field(default=None, sa_column=Column(Boolean))
    # One line per criterion failed (empty when passed); the verdict's notes are metrics.verdict_notes.
    reasons: list[str] | None = Field(default=None, sa_column=Column(TypedJSON(list[str])))
    partial: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
