from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

from persistence.columns import TypedJSON
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class EpisodeRow(SQLModel, table=True):
    """One recording: its file and place inside it, shape and tasks, as indexed from metadata."""

    __tablename__ = "episode"
    __table_args__ = (
        UniqueConstraint("dataset_id", "index", name="uq_episode_dataset_index"),
        Index("ix_episode_dataset_task", "dataset_id", "task_index"),
        Index("ix_episode_dataset_length", "dataset_id", "length"),
        Index("ix_episode_dataset_score", "dataset_id", "overall_grade"),  # by column key
        NEVER_REUSE_IDS,
    )

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    dataset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("dataset.id", ondelete="CASCADE"), nullable=False)
    )
    index: int
    # Relative to the dataset folder, so a moved data root needs no rewrite.
    file: str = Field(sa_column=Column(String(1024), nullable=False))
    # The format's own detail of where the episode lies inside its files (a row range and video
    # windows, an HDF5 group, a bag's clock): canonical JSON, see persistence/episode_sources.
    locator: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    length: int
    duration: float = Field(sa_column=Column(Float, nullable=False))
    task_index: int | None = None
    # Every task of the episode (LeRobot episodes may have several); task_index is the first.
    task_indexes: list[int] = Field(
        default_factory=list, sa_column=Column(TypedJSON(list[int]), nullable=False, server_default="[]")
    )
    # {camera: [frames, height, width]}
    cameras: dict[str, list[int]] = Field(
        default_factory=dict, sa_column=Column(TypedJSON(dict[str, list[int]]), nullable=False)
    )
    # Optional datasets of the layout that this file lacks.
    missing: list[str] = Field(default_factory=list, sa_column=Column(TypedJSON(list[str]), nullable=False))
    file_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    file_mtime: float = Field(sa_column=Column(Float, nullable=False))
    # The last number given to a generated track id (DET_<LABEL>_<NNNN>); raised in an UPDATE so
    # that concurrent creators on PostgreSQL never draw the same number.
    track_counter: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # The overall grade, 1-5, of the latest trajectory-metrics run, kept here so that review order is one
    # indexed read. The column keeps its first name, "overall_score" (no migration for a rename); its
    # key, the name Python and SQL expressions use, is "overall_grade".
    overall_grade: int | None = Field(
        default=None, sa_column=Column("overall_score", Integer, nullable=True, key="overall_grade")
    )
    metric_flags: list[str] = Field(
        default_factory=list, sa_column=Column(TypedJSON(list[str]), nullable=False, server_default="[]")
    )
    flagged: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # Suggestions of analysis jobs nobody has verified or dismissed yet.
    open_suggestions: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # From the latest clustering run.
    cluster: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
