from __future__ import annotations

from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field

from persistence.columns import TypedJSON, UTCDateTime
from persistence.tables.base import NEVER_REUSE_IDS, SQLModel


class JobPartRow(SQLModel, table=True):
    """One part of a data-parallel job (domain/core/job_parts.py): a group of the job's items (episode
    ids) that one participant, in any process, claims, works through and stores the result of. Parts
    live only while their job runs: the job's last write deletes them."""

    __tablename__ = "job_part"
    __table_args__ = (UniqueConstraint("job_id", "part", name="uq_job_part_job_part"), NEVER_REUSE_IDS)

    id: int = Field(default=None, primary_key=True)  # see ROW_IDS in base.py
    job_id: int = Field(sa_column=Column(Integer, ForeignKey("job.id", ondelete="CASCADE"), nullable=False))
    part: int  # 0-based, in the order of the job's items
    # The final step is part -1 with no items: WAITING until every other part is DONE, then claimed
    # like a part, so a participant lost in it is replaced as in any other part.
    items: list[int] = Field(sa_column=Column(TypedJSON(list[int]), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))  # len(items)
    status: str = Field(sa_column=Column(String(20), nullable=False))  # WAITING, PENDING, RUNNING, DONE
    # How often a participant claimed it: more than one means a participant was lost with it.
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    done: int = Field(default=0, sa_column=Column(Integer, nullable=False))  # items finished so far
    # Who holds it ("host:pid"), and when it last said it is alive: a RUNNING part silent for longer
    # than the stall time is taken over by another participant.
    worker: str | None = Field(default=None, sa_column=Column(String(200)))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # item id (as text: JSON keys) -> that item's result, as the kind's part function returned it.
    result: dict[str, JsonValue] | None = Field(
        default=None, sa_column=Column(TypedJSON(dict[str, JsonValue]))
    )
