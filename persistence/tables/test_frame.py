from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Integer, String
from sqlmodel import Field

from persistence.columns import UTCDateTime, utcnow
from persistence.tables.base import SQLModel


class TestFrameRow(SQLModel, table=True):
    """A frame a test session processed, with its running match counts (for live precision and
    recall; the final evaluation recomputes them all)."""

    __tablename__ = "test_frame"
    __test__ = False

    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("test_session.id", ondelete="CASCADE"), primary_key=True)
    )
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), primary_key=True)
    )
    camera: str = Field(sa_column=Column(String(100), primary_key=True))
    frame: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    tp: int = 0
    fp: int = 0
    fn: int = 0
    # MODEL sessions: the detector's time for this frame (its share of the batch), in ms.
    latency_ms: float | None = Field(default=None, sa_column=Column(Float))
    processed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
