from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime, utcnow
from persistence.documents import RegistrationOptions, SourceFeatures, SourceField
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class DatasetRow(SQLModel, table=True):
    """A folder or file of episodes registered from under a data root, in one recording format."""

    __tablename__ = "dataset"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    name: str = Field(sa_column=Column(String(200), nullable=False))
    # The resolved folder; unique so registering the same folder twice re-indexes it.
    path: str = Field(sa_column=Column(String(1024), nullable=False, unique=True))
    # HDF5, VIDEO, LEROBOT, ALOHA, ROBOMIMIC, ROSBAG, MCAP (persistence/episode_sources/formats.py)
    format: str = Field(sa_column=Column(String(20), nullable=False))
    format_version: str | None = Field(default=None, sa_column=Column(String(40)))
    # How a bag's streams were put on one clock.
    clock: str | None = Field(default=None, sa_column=Column(String(500)))
    # The registration options (the format's pydantic model, as JSON).
    options: RegistrationOptions = Field(
        default_factory=dict,
        sa_column=Column(TypedJSON(RegistrationOptions), nullable=False, server_default="{}"),
    )
    # Every array, column, dataset or topic found, and the standard name it was mapped to (or none).
    mapping: list[SourceField] = Field(
        default_factory=list,
        sa_column=Column(TypedJSON(list[SourceField]), nullable=False, server_default="[]"),
    )
    fps: float
    robot_type: str | None = Field(default=None, sa_column=Column(String(100)))
    cameras: list[str] = Field(default_factory=list, sa_column=Column(TypedJSON(list[str]), nullable=False))
    joint_names: list[str] = Field(
        default_factory=list, sa_column=Column(TypedJSON(list[str]), nullable=False)
    )
    features: SourceFeatures = Field(
        default_factory=dict, sa_column=Column(TypedJSON(SourceFeatures), nullable=False)
    )
    episode_count: int = 0
    frame_count: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
