from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from domain.validation import test_sessions as sessions_domain
from domain.validation.evaluation import max_detections_of
from domain.validation.signal_paths import session_paths
from graph.context import Info
from graph.deprecated import use
from graph.jobs.job import Job
from graph.loaders import existing
from graph.validation.project import PassFailCriteria
from graph.validation.signal_path import PathLatencyStats, SignalPathSetting, path_settings
from persistence.documents import DetectionCounts, LatencySummary, SessionMetrics
from persistence.tables import TestSessionRow

if TYPE_CHECKING:
    from graph.datasets.episode import Episode
    from graph.validation.detection_comparison import ComparisonKind, DetectionComparisonConnection
    from graph.validation.project import Project

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
TestSource = sessions_domain.TestSource
strawberry.enum(TestSource, description="MODEL: a detector run here; EXTERNAL: a device.")
TestStatus = sessions_domain.TestStatus
strawberry.enum(
    TestStatus,
    description="CREATED, RUNNING, then COMPLETED (all frames), STOPPED (stopped by a user) or FAILED.",
)


@strawberry.type(description="A 95 % confidence interval.")
class ConfidenceInterval:
    low: float = strawberry.field(description="Lower bound.")
    high: float = strawberry.field(description="Upper bound.")

    @classmethod
    def of(cls, pair: tuple[float, float] | None) -> ConfidenceInterval | None:
        return cls(low=pair[0], high=pair[1]) if pair else None


@strawberry.type(description="Detection metrics against validated ground truth (null where undefined).")
class DetectionMetrics:
    true_positives: int = strawberry.field(description="Detections matched to a box.")
    false_positives: int = strawberry.field(description="Detections matched to nothing.")
    false_negatives: int = strawberry.field(description="Boxes no detection matched.")
    precision: float | None = strawberry.field(description="TP / (TP + FP); null without detections.")
    recall: float | None = strawberry.field(description="TP / (TP + FN); null without ground truth.")
    f1: float | None = strawberry.field(description="Harmonic mean of precision and recall.")
    ap50: float | None = strawberry.field(description="COCO AP at IoU 0.5 (101-point interpolation).")
    ap50_95: float | None = strawberry.field(
        name="ap50To95", description="COCO AP averaged over IoU 0.50:0.05:0.95."
    )
    precision_interval: ConfidenceInterval | None = strawberry.field(description="Wilson 95 % interval.")
    recall_interval: ConfidenceInterval | None = strawberry.field(description="Wilson 95 % interval.")
    f1_interval: ConfidenceInterval | None = strawberry.field(description="Bootstrap over frames, 95 %.")
    ap50_interval: ConfidenceInterval | None = strawberry.field(description="Bootstrap over frames, 95 %.")

    @classmethod
    def of(cls, m: DetectionCounts) -> DetectionMetrics:
        return cls(
            true_positives=m.tp,
            false_positives=m.fp,
            false_negatives=m.fn,
            precision=m.precision,
            recall=m.recall,
            f1=m.f1,
            ap50=m.ap50,
            ap50_95=m.ap50_95,
            precision_interval=ConfidenceInterval.of(m.precision_ci),
            recall_interval=ConfidenceInterval.of(m.recall_ci),
            f1_interval=ConfidenceInterval.of(m.f1_ci),
            ap50_interval=ConfidenceInterval.of(m.ap50_ci),
        )


@strawberry.type(description="Metrics of one label.")
class LabelMetrics:
    label: str = strawberry.field(description="The label name.")
    metrics: DetectionMetrics = strawberry.field(description="Its metrics.")


@strawberry.type(description="Detection latency: device send to receipt, or the detector's time per frame.")
class LatencyStats:
    count: int = strawberry.field(description="Measurements.")
    p50_ms: float | None = strawberry.field(description="Median, ms.")
    p95_ms: float | None = strawberry.field(description="95th percentile, ms.")
    p99_ms: float | None = strawberry.field(description="99th percentile, ms.")
    max_ms: float | None = strawberry.field(description="Largest, ms.")
    within_tolerance: float | None = strawberry.field(
        description="Share at or under the session's toleranceMs."
    )

    @classmethod
    def of(cls, s: LatencySummary) -> LatencyStats:
        return cls(
            count=s.count,
            p50_ms=s.p50,
            p95_ms=s.p95,
            p99_ms=s.p99,
            max_ms=s.max,
            within_tolerance=s.within_tolerance,
        )


@strawberry.type(description="Pass or fail, with a reason for each criterion that failed.")
class Verdict:
    passed: bool = strawberry.field(description="Every criterion was met.")
    reasons: list[str] = strawberry.field(description="One line per failed criterion; empty when passed.")
    notes: list[str] = strawberry.field(
        description=(
            "What the numbers must be read with, passed or not: e.g. that the maxDetections limit left "
            "detections out of AP on crowded frames."
        )
    )


@strawberry.type(description="What a test session's evaluation found.")
class TestEvaluation:
    frames: int = strawberry.field(description="Frames evaluated (those the session processed).")
    ground_truth_boxes: int = strawberry.field(description="Validated boxes on those frames.")
    detections: int = strawberry.field(description="Detections on those frames of the project's labels.")
    ignored_detections: int = strawberry.field(
        description="Detections of labels the project does not validate."
    )
    difficult_boxes: int = strawberry.field(
        description=(
            "Validated boxes marked difficult or crowd among groundTruthBoxes: ignored, as VOC ignores "
            "difficult objects and COCOeval crowd regions (never an FN)."
        )
    )
    detections_on_difficult: int = strawberry.field(
        description=(
            "Detections matched to a difficult or crowd box at matchIou (for a crowd box, the part of the "
            "detection inside it): neither TP nor FP."
        )
    )
    max_detections: int = strawberry.field(
        description="The session's limit of detections per frame and label in AP (COCO's maxDets)."
    )
    detections_beyond_limit: int = strawberry.field(
        description="Detections that limit left out of AP50 and AP50:95 (counted in precision, recall, F1)."
    )
    frames_beyond_limit: int = strawberry.field(description="Frames where that limit left detections out.")
    overall: DetectionMetrics = strawberry.field(description="All labels together.")
    per_label: list[LabelMetrics] = strawberry.field(description="Each label.")
    latency: LatencyStats = strawberry.field(description="Latency.")
    latency_by_path: list[PathLatencyStats] = strawberry.field(
        description=(
            "EXTERNAL sessions: latency over each signal path, by that path's tolerance (empty for MODEL)."
        )
    )
    partial: bool = strawberry.field(description="The session was stopped before it processed every frame.")
    note: str | None = strawberry.field(description="What the evaluation covered, when not everything.")

    @classmethod
    def of(cls, m: SessionMetrics, partial: bool) -> TestEvaluation:
        return cls(
            frames=m.frames,
            ground_truth_boxes=m.ground_truth,
            detections=m.detections,
            ignored_detections=m.ignored_detections,
            difficult_boxes=m.difficult_boxes,
            detections_on_difficult=m.detections_on_difficult,
            max_detections=m.max_detections,
            detections_beyond_limit=m.detections_beyond_limit,
            frames_beyond_limit=m.frames_beyond_limit,
            overall=DetectionMetrics.of(m.overall),
            per_label=[LabelMetrics(label=c.label, metrics=DetectionMetrics.of(c)) for c in m.per_label],
            latency=LatencyStats.of(m.latency),
            latency_by_path=[PathLatencyStats.of(p) for p in m.latency_by_path],
            partial=partial,
            note=m.note,
        )


@strawberry.type(
    description="A detector (MODEL) or a device (EXTERNAL) checked against a project's ground truth."
)
class TestSession(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name.")
    source: TestSource = strawberry.field(description="MODEL or EXTERNAL.")
    model: str | None = strawberry.field(description="The model a MODEL session runs.")
    status: TestStatus = strawberry.field(description="Where the session is.")
    cameras: list[str] | None = strawberry.field(description="The cameras it covers (null: all).")
    match_iou: float = strawberry.field(description="IoU a detection needs to match a box, in (0, 1].")
    tolerance_ms: float = strawberry.field(description="Latency counted as on time.")
    max_detections: int = strawberry.field(
        description="Detections per frame and label AP keeps, the best scored (COCO's maxDets, default 100)."
    )
    frames_total: int = strawberry.field(description="Frames it should process.")
    created_at: datetime = strawberry.field(description="When it was created.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    stopped_at: datetime | None = strawberry.field(description="When it ended.")
    evaluated_at: datetime | None = strawberry.field(description="When it was evaluated.")
    error_message: str | None = strawberry.field(description="Why it failed.")
    row: strawberry.Private[TestSessionRow]

    @classmethod
    def from_row(cls, row: TestSessionRow) -> TestSession:
        return cls(
            id=row.id,
            name=row.name,
            source=sessions_domain.TestSource(row.source),
            model=row.model,
            status=sessions_domain.TestStatus(row.status),
            cameras=row.cameras,
            match_iou=row.match_iou,
            tolerance_ms=row.tolerance_ms,
            max_detections=max_detections_of(row),
            frames_total=row.frames_total,
            created_at=row.created_at,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            evaluated_at=row.evaluated_at,
            error_message=row.error_message,
            row=row,
        )

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        rows = await info.context.loaders.test_session.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(
        description="IoU a detection needs to match a box: `matchIou`.", deprecation_reason=use("matchIou")
    )
    def iou_threshold(self) -> float:
        return self.match_iou

    @strawberry.field(description="The project.")
    async def project(self, info: Info) -> Annotated[Project, strawberry.lazy("graph.validation.project")]:
        from graph.validation.project import Project

        return Project.from_row(existing(await info.context.loaders.project.load(self.row.project_id)))

    @strawberry.field(description="The episodes it covers.")
    async def episodes(
        self,
        info: Info,  # noqa: E501
    ) -> list[Annotated[Episode, strawberry.lazy("graph.datasets.episode")]]:
        from graph.datasets.episode import Episode

        rows = await info.context.loaders.episode.load_many(list(self.row.episode_ids))
        return [Episode.from_row(r) for r in rows if r is not None]

    @strawberry.field(
        description=(
            "EXTERNAL: how its device reports, each path with its latency tolerance; the first is the "
            "default for events that name none (NETWORK at toleranceMs unless the session named paths). "
            "Empty for MODEL sessions, which detect here."
        )
    )
    def signal_paths(self) -> list[SignalPathSetting]:
        if self.row.source == sessions_domain.TestSource.MODEL:
            return []
        return path_settings(session_paths(self.row))

    @strawberry.field(description="The criteria it is (or was) judged by.")
    def criteria(self) -> PassFailCriteria:
        return PassFailCriteria.of(self.row.criteria)

    @strawberry.field(description="Frames processed so far.")
    async def frames_processed(self, info: Info) -> int:
        return (await info.context.loaders.test_frame_totals.load(self.id)).processed

    @strawberry.field(description="The detector's job, for MODEL sessions.")
    async def job(self, info: Info) -> Job | None:
        if self.row.job_id is None:
            return None
        row = await info.context.loaders.job.load(self.row.job_id)
        return Job.from_row(row) if row else None

    @strawberry.field(description="The evaluation, once the session ended.")
    def evaluation(self) -> TestEvaluation | None:
        return TestEvaluation.of(self.row.metrics, self.row.partial) if self.row.metrics else None

    @strawberry.field(description="Pass or fail, once evaluated.")
    def verdict(self) -> Verdict | None:
        if self.row.passed is None:
            return None
        notes = self.row.metrics.verdict_notes if self.row.metrics else []
        return Verdict(passed=self.row.passed, reasons=list(self.row.reasons or []), notes=list(notes))

    @strawberry.field(description="The evaluation's matched pairs and misses, a page at a time.")
    async def comparisons(
        self,
        info: Info,  # noqa: E501
        kind: Annotated[ComparisonKind, strawberry.lazy("graph.validation.detection_comparison")]
        | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Annotated[DetectionComparisonConnection, strawberry.lazy("graph.validation.detection_comparison")]:
        from graph.validation.detection_comparison import comparison_page

        return await comparison_page(info, self.id, kind, first, after)


@strawberry.type(description="A running test session's progress.")
class TestSessionProgress:
    session: TestSession = strawberry.field(description="The session.")
    status: TestStatus = strawberry.field(description="Its status.")
    frames_processed: int = strawberry.field(description="Frames processed.")
    frames_total: int = strawberry.field(description="Frames to process.")
    frames_per_second: float | None = strawberry.field(description="Frames processed per second so far.")
    precision: float | None = strawberry.field(description="Running precision over the processed frames.")
    recall: float | None = strawberry.field(description="Running recall over the processed frames.")
    eta_seconds: float | None = strawberry.field(description="Seconds left at the current rate.")
