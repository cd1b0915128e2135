"""A validation project's pass/fail criteria (project.criteria, and test_session.criteria: the project's
criteria when the session was evaluated)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from persistence.documents.base import Document


class StoredCriteria(Document):
    """Each bound is optional (None: not checked); scores are fractions 0..1, latency milliseconds.
    `match_iou` is the IoU a detection needs to match a box; criteria saved before its rename hold it as
    `iouThreshold`, and None (never saved) means the domain's default."""

    min_precision: float | None = None
    min_recall: float | None = None
    min_f1: float | None = None
    min_ap50: float | None = None
    max_p95_latency_ms: float | None = None
    match_iou: float | None = Field(default=None, validation_alias=AliasChoices("matchIou", "iouThreshold"))
