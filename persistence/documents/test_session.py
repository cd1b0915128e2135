"""What a test session stores as JSON: its settings (test_session.settings) and its evaluation's
metrics (test_session.metrics; the verdict's reasons are test_session.reasons, a list of strings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from persistence.documents.base import Document

# A 95 % interval (low, high), stored as a two-number list.
Interval = tuple[float, float]


class PathTolerance(Document):
    """A signal path a device reports over (NETWORK, SERIAL, CAN, GPIO) and its latency tolerance, ms."""

    path: str
    tolerance_ms: float


class SessionSettings(Document):
    """How a MODEL session runs its detector, and AP's detections-per-frame-and-label limit (every
    session). Sessions created before the renames hold `confidence` and `iou` for the first two, and no
    maxDetections (None: they were evaluated with COCO's 100); None elsewhere means the domain's default."""

    score_threshold: float | None = Field(
        default=None, validation_alias=AliasChoices("scoreThreshold", "confidence")
    )
    nms_iou: float | None = Field(default=None, validation_alias=AliasChoices("nmsIou", "iou"))
    frame_stride: int = 1
    class_map: dict[str, str] | None = None
    image_size: int | None = None
    max_detections: int | None = None
    # EXTERNAL sessions: the paths the device reports over, the first the default (None: NETWORK at the
    # session's toleranceMs, as every session made before paths existed).
    signal_paths: list[PathTolerance] | None = None


class DetectionCounts(Document):
    """Matches over all labels or one: counts, and the rates that follow (None where undefined: no
    detection for precision, no ground truth for recall or AP)."""

    tp: int
    fp: int
    fn: int
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    ap50: float | None = None
    ap50_95: float | None = Field(default=None, alias="ap50_95")  # AP over IoU 0.50:0.05:0.95
    precision_ci: Interval | None = None  # Wilson
    recall_ci: Interval | None = None  # Wilson
    f1_ci: Interval | None = None  # bootstrap over frames
    ap50_ci: Interval | None = None  # bootstrap over frames


class LabelCounts(DetectionCounts):
    """The counts of one label (stored flat: the label's name beside its counts)."""

    label: str


class LatencySummary(Document):
    """Latency in milliseconds (device send to receipt, or the detector's time per frame); None without
    measurements. `within_tolerance` is the share at or under the session's toleranceMs."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    within_tolerance: float | None = None


class PathLatencySummary(LatencySummary):
    """The latency of the detections that came over one signal path, judged by that path's tolerance."""

    path: str
    tolerance_ms: float


class SessionMetrics(Document):
    """A test session's evaluation. Sessions evaluated before a count existed read it as 0 (they had no
    difficult boxes, limit or ignored labels to count), their limit as COCO's 100 and no notes."""

    frames: int  # evaluated: those the session processed
    ground_truth: int  # validated boxes on those frames
    detections: int  # detections of the project's labels on those frames
    ignored_detections: int = 0  # of labels the project does not validate
    difficult_boxes: int = 0
    detections_on_difficult: int = 0
    max_detections: int = 100
    detections_beyond_limit: int = 0
    frames_beyond_limit: int = 0
    overall: DetectionCounts
    per_label: list[LabelCounts]
    latency: LatencySummary = LatencySummary()
    latency_by_path: list[PathLatencySummary] = []  # EXTERNAL sessions; empty before paths existed
    verdict_notes: list[str] = []
    note: str | None = None  # what the evaluation covered, when not every frame
