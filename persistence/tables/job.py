from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import JobParameters, JobResult, JobSummary
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class JobRow(SQLModel, table=True):
    """Anything longer than a request, versioned per (kind, target)."""

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("kind", "target", "version", name="uq_job_kind_target_version"),
        Index("ix_job_status", "status"),
        Index("ix_job_dataset", "dataset_id"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    # What the job works on, e.g. "path:/data/demo" or "dataset:3"; versions count per target.
    target: str = Field(sa_column=Column(String(1100), nullable=False))
    version: int
    dataset_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("dataset.id", ondelete="SET NULL"), nullable=True)
    )
    progress: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    message: str | None = Field(default=None, sa_column=Column(Text))
    # Their keys depend on the kind: persistence/documents/job.py has a model per kind.
    parameters: JobParameters = Field(
        default_factory=JobParameters, sa_column=Column(TypedJSON(JobParameters), nullable=False)
    )
    summary: JobSummary | None = Field(default=None, sa_column=Column(TypedJSON(JobSummary)))
    result: JobResult | None = Field(default=None, sa_column=Column(TypedJSON(JobResult)))
    error_code: str | None = Field(default=None, sa_column=Column(String(40)))
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
