"""What an accepted save of an episode annotation stored (annotation_revision.content): the annotation's
values and its anomalies with their times, snake_case as domain.annotations.drafts.content writes them
(also the `content` of annograph JSON's episode annotations). Revisions saved before the rename of
`confidence` to `certainty` hold the old key; it reads as the new one."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from persistence.documents.base import NamedDocument


class RevisionAnomaly(NamedDocument):
    """An anomaly as saved: its type and severity by name, frames inclusive, times in seconds from the
    episode's first frame."""

    type: str  # COLLISION, DROP, ... (domain.annotations.drafts.AnomalyType)
    severity: str  # LOW, MEDIUM, HIGH, CRITICAL
    from_frame: int
    to_frame: int
    description: str | None = None
    auto_detected: bool = False
    verified: bool = False
    from_time: float
    to_time: float


class RevisionContent(NamedDocument):
    """An annotation as saved. Enum values are stored by name (`rating`: SUCCESS, PARTIAL, FAILURE,
    UNKNOWN); scores 1-5, completion 0-100."""

    rating: str
    certainty: int | None = Field(default=None, validation_alias=AliasChoices("certainty", "confidence"))
    completion: float | None = None
    failure_reason: str | None = None
    subtask_reached: str | None = None
    smoothness: int | None = None
    efficiency: int | None = None
    safety: int | None = None
    precision: int | None = None
    video_quality: int | None = None
    sync_issues: bool = False
    missing_frames: bool = False
    data_notes: str | None = None
    notes: str | None = None
    anomalies: list[RevisionAnomaly] = []
