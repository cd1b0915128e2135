"""What a dataset stores as JSON beside its columns: how indexing mapped the source's fields
(dataset.mapping, also in the INDEXING job's summary), the registration options (dataset.options) and
what the source says of its fields (dataset.features)."""

from __future__ import annotations

from pydantic import JsonValue

from persistence.documents.base import Document

# dataset.options: the format's registration options as its pydantic model dumps them (snake_case, every
# field); which model depends on dataset.format, so the column holds their JSON form
# (persistence.episode_sources.formats.options_model(format) reads it back).
RegistrationOptions = dict[str, JsonValue]

# dataset.features: what the source says of its fields, in its format's own words (LeRobot's info.json
# features, robomimic's env_args and filter keys, ALOHA's cameras, a video's codec): open by nature.
SourceFeatures = dict[str, JsonValue]


class SourceField(Document):
    """One array, column, dataset or topic of the source and where it went (`target` None: unmapped).
    `shape` is per frame, when known; `note` says why it was left unmapped or how it was mapped."""

    source: str  # path inside the file: "/observations/qpos", "observation.state", "/joint_states"
    target: str | None = None  # a standard name, "camera:<name>", "task", or None
    shape: list[int] | None = None
    dtype: str | None = None
    note: str = ""
