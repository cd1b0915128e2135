"""Pure computation: what an episode annotation may hold, and the checks on a submitted one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

from domain.core.errors import REQUEST, BadUserInput, inside
from persistence.documents import RevisionAnomaly, RevisionContent

TEXT_MAX = 10_000
GRADES = ("smoothness", "efficiency", "safety", "precision", "video_quality")  # quality grades, 1-5


class Rating(StrEnum):
    SUCCESS = "SUCCESS"
    PARTIAL = "PARTIAL"
    FAILURE = "FAILURE"
    UNKNOWN = "UNKNOWN"


class AnomalyType(StrEnum):
    COLLISION = "COLLISION"
    NEAR_COLLISION = "NEAR_COLLISION"
    DROP = "DROP"
    SLIP = "SLIP"
    HESITATION = "HESITATION"
    JITTER = "JITTER"
    UNEXPECTED_STOP = "UNEXPECTED_STOP"
    VELOCITY_SPIKE = "VELOCITY_SPIKE"
    OCCLUSION = "OCCLUSION"
    SENSOR_DROPOUT = "SENSOR_DROPOUT"
    OTHER = "OTHER"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class AnomalyDraft:
    type: AnomalyType
    severity: Severity
    from_frame: int
    to_frame: int  # inclusive
    description: str | None = None
    auto_detected: bool = False
    verified: bool = False


@dataclass(frozen=True)
class AnnotationDraft:
    rating: Rating
    certainty: int | None = None  # how sure the annotator is, 1-5
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
    anomalies: tuple[AnomalyDraft, ...] = field(default_factory=tuple)

    def columns(self) -> dict:
        """The values of the annotation row (anomalies are rows of their own)."""
        values = asdict(self)
        values.pop("anomalies")
        values["rating"] = self.rating.value
        return values


# Where each draft field sits in an annotation's parts (task completeness, trajectory quality, data
# quality), so an error names the field the client gave.
FIELD_PATHS = {
    "certainty": "task_completeness.certainty",
    "completion": "task_completeness.completion",
    "failure_reason": "task_completeness.failure_reason",
    "subtask_reached": "task_completeness.subtask_reached",
    "smoothness": "trajectory_quality.smoothness",
    "efficiency": "trajectory_quality.efficiency",
    "safety": "trajectory_quality.safety",
    "precision": "trajectory_quality.precision",
    "video_quality": "data_quality.video_quality",
    "data_notes": "data_quality.notes",
    "notes": "notes",
}


def _range(value: float | None, low: float, high: float, path: str) -> None:
    if value is not None and not low <= value <= high:
        raise BadUserInput(f"{path} must be between {low:g} and {high:g}, got {value:g}", field=path)


def _text(value: str | None, path: str) -> None:
    if value is not None:
        if len(value) > TEXT_MAX:
            raise BadUserInput(f"{path} may have at most {TEXT_MAX} characters", field=path)
        if "\x00" in value:
            raise BadUserInput(f"{path} must not contain NUL characters", field=path)


def check_draft(draft: AnnotationDraft, episode_length: int, prefix: str = REQUEST) -> None:
    """Raise BadUserInput naming the first field that is out of range (a path inside `prefix`)."""
    path = {name: inside(prefix, where) for name, where in FIELD_PATHS.items()}
    _range(draft.certainty, 1, 5, path["certainty"])
    _range(draft.completion, 0, 100, path["completion"])
    for grade in GRADES:
        _range(getattr(draft, grade), 1, 5, path[grade])
    for name in ("failure_reason", "subtask_reached", "data_notes", "notes"):
        _text(getattr(draft, name), path[name])
    for i, anomaly in enumerate(draft.anomalies):
        first, last = inside(prefix, "anomalies", i, "from_frame"), inside(prefix, "anomalies", i, "to_frame")
        if not 0 <= anomaly.from_frame < episode_length:
            raise BadUserInput(
                f"{first} must be between 0 and {episode_length - 1}, got {anomaly.from_frame}", field=first
            )
        if not 0 <= anomaly.to_frame < episode_length:
            raise BadUserInput(
                f"{last} must be between 0 and {episode_length - 1}, got {anomaly.to_frame}", field=last
            )
        if anomaly.to_frame < anomaly.from_frame:
            raise BadUserInput(
                f"{last} ({anomaly.to_frame}) is before the anomaly's first frame ({anomaly.from_frame})",
                field=last,
            )
        _text(anomaly.description, inside(prefix, "anomalies", i, "description"))


# Content keys that revisions and annograph JSON files saved before a rename hold, read as the new one:
# old -> new (a revision's RevisionContent reads them itself).
OLD_CONTENT_KEYS = {"confidence": "certainty"}


def stored_content(content: dict) -> dict:
    """An annograph JSON file's episode annotation content with the keys a save writes today: an old key
    is read as its new name. ValueError naming the new key when both are there and differ."""
    if not OLD_CONTENT_KEYS.keys() & content.keys():
        return content
    renamed = {k: v for k, v in content.items() if k not in OLD_CONTENT_KEYS}
    for old, new in OLD_CONTENT_KEYS.items():
        if old in content:
            if new in renamed and renamed[new] != content[old]:
                raise ValueError(
                    f"{new}: {old} is its old name; give one, not {renamed[new]} and {content[old]}"
                )
            renamed[new] = content[old]
    return renamed


def with_old_keys(content: dict) -> dict:
    """`content` with each renamed key under its old name too, for one release (README, "Deprecated
    names"): what CONFLICT answers carry, so a client that reads the old name still finds it."""
    return {**content, **{old: content[new] for old, new in OLD_CONTENT_KEYS.items() if new in content}}


def content(draft: AnnotationDraft, times: list[tuple[float, float]]) -> RevisionContent:
    """The saved content (a revision holds it, CONFLICT answers carry its JSON): every key given, the
    anomalies with their times (seconds, `times` in the order of draft.anomalies)."""
    anomalies = [
        RevisionAnomaly(
            **{**asdict(a), "type": a.type.value, "severity": a.severity.value}, from_time=start, to_time=end
        )
        for a, (start, end) in zip(draft.anomalies, times, strict=True)
    ]
    return RevisionContent(**draft.columns(), anomalies=anomalies)
