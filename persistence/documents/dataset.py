"""What a dataset stores as JSON beside its columns: how indexing mapped the source's fields
(dataset.mapping, also in the INDEXING job's summary)."""

from __future__ import annotations

from persistence.documents.base import Document


class SourceField(Document):
    """One array, column, dataset or topic of the source and where it went (`target` None: unmapped).
    `shape` is per frame, when known; `note` says why it was left unmapped or how it was mapped."""

    source: str  # path inside the file: "/observations/qpos", "observation.state", "/joint_states"
    target: str | None = None  # a standard name, "camera:<name>", "task", or None
    shape: list[int] | None = None
    dtype: str | None = None
    note: str = ""
