from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String
from sqlmodel import Field

from persistence.columns import UTCDateTime
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class DetectionEventRow(SQLModel, table=True):
    """One detection a test session received (EXTERNAL) or produced (MODEL)."""

    __tablename__ = "detection_event"
    __table_args__ = (
        Index("ix_detection_event_frame", "session_id", "episode_id", "camera", "frame"),
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
    x: float = Field(sa_column=Column(Float, nullable=False))
    y: float = Field(sa_column=Column(Float, nullable=False))
    width: float = Field(sa_column=Column(Float, nullable=False))
    height: float = Field(sa_column=Column(Float, nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    # Episode time the device stamped (seconds), when it sent one; the frame is the nearest to it.
    device_timestamp: float | None = Field(default=None, sa_column=Column(Float))
    # Device time minus the frame's time (ms): how far the device's clock or sampling was off.
    temporal_offset_ms: float | None = Field(default=None, sa_column=Column(Float))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # receive - send for devices; inference time per frame for MODEL sessions.
    latency_ms: float | None = Field(default=None, sa_column=Column(Float))
    # How the device reported it: NETWORK, SERIAL, CAN or GPIO (domain/validation/signal_paths.py).
    signal_path: str = Field(
        default="NETWORK", sa_column=Column(String(8), nullable=False, server_default="NETWORK")
    )
