from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field

from persistence.columns import TypedJSON
from persistence.documents import AnalysisValues
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class EpisodeAnalysisRow(SQLModel, table=True):
    """What one analysis run found for one episode (metrics, quality facts, cluster), kept per run so
    that the history of a dataset's analyses stays readable."""

    __tablename__ = "episode_analysis"
    __table_args__ = (
        UniqueConstraint("job_id", "episode_id", name="uq_episode_analysis_job_episode"),
        Index("ix_episode_analysis_episode_kind", "episode_id", "kind"),
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    job_id: int = Field(sa_column=Column(Integer, ForeignKey("job.id", ondelete="CASCADE"), nullable=False))
    episode_id: int = Field(
        sa_column=Column(Integer, ForeignKey("episode.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    # The kind's values (persistence/documents/episode_analysis.py), read through its model.
    values: AnalysisValues = Field(
        default_factory=AnalysisValues, sa_column=Column(TypedJSON(AnalysisValues), nullable=False)
    )
