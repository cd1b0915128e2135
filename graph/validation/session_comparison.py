"""compareTestSessions: model against model, with a paired bootstrap over the frames all sessions
processed (domain/validation/comparison_sessions.py)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from domain.validation import comparison_sessions as domain
from domain.validation import comparison_trends as trends_domain
from domain.validation.comparison_bootstrap import Difference
from graph.context import Info
from graph.ids import decode_ids
from graph.permissions import IsViewer
from graph.validation.test_session import TestSession
from persistence.tables import TestSessionRow


@strawberry.enum(description="A metric compared between test sessions.")
class ComparedMetric(Enum):
    AP50 = "AP50"
    AP50_95 = "AP50_95"
    F1 = "F1"
    PRECISION = "PRECISION"
    RECALL = "RECALL"
    LATENCY_P95 = "LATENCY_P95"


@strawberry.type(description="An interval of a difference at the comparison's confidence.")
class DifferenceInterval:
    low: float = strawberry.field(description="Lower bound (same unit as the metric).")
    high: float = strawberry.field(description="Upper bound.")


@strawberry.type(description="One metric of a session against the baseline (fractions 0..1; latency in ms).")
class MetricDifference:
    metric: ComparedMetric = strawberry.field(description="The metric.")
    baseline_value: float | None = strawberry.field(
        description="The baseline's value on the common frames (null where undefined)."
    )
    value: float | None = strawberry.field(description="This session's value on the common frames.")
    difference: float | None = strawberry.field(description="value - baselineValue; null if either is null.")
    interval: DifferenceInterval | None = strawberry.field(
        description=(
            "Paired bootstrap percentile interval of the difference over the common frames at the "
            "comparison's confidence; null when no resample defines it."
        )
    )
    statement: str = strawberry.field(
        description=(
            "What the interval supports: 'B has higher AP50 than A: +0.041 [0.012, 0.070]' when it lies "
            "above 0, 'lower' below 0, otherwise 'no difference shown ...'."
        )
    )


@strawberry.type(description="The differences of one label.")
class LabelDifference:
    label: str = strawberry.field(description="The label name.")
    metrics: list[MetricDifference] = strawberry.field(
        description="AP50, AP50_95, F1, PRECISION, RECALL of this label."
    )


@strawberry.type(description="One session against the baseline (the first session named).")
class SessionDifference:
    session: TestSession = strawberry.field(description="The session compared.")
    baseline: TestSession = strawberry.field(description="The baseline it is compared with.")
    overall: list[MetricDifference] = strawberry.field(
        description="All labels together: AP50, AP50_95, F1, PRECISION, RECALL and LATENCY_P95."
    )
    per_label: list[LabelDifference] = strawberry.field(description="Each label, in name order.")


@strawberry.type(description="Test sessions of one project compared on the frames they all processed.")
class TestSessionComparison:
    sessions: list[TestSession] = strawberry.field(description="The sessions, in the order asked.")
    baseline: TestSession = strawberry.field(
        description="The first session: every other is compared with it."
    )
    frames: int = strawberry.field(description="Frames every session processed: what is compared.")
    labels: list[str] = strawberry.field(description="The labels compared.")
    resamples: int = strawberry.field(description="Bootstrap resamples of the frames.")
    seed: int = strawberry.field(description="Seed of numpy's default_rng that drew them.")
    confidence: float = strawberry.field(description="Confidence of the intervals (0..1).")
    differences: list[SessionDifference] = strawberry.field(
        description="Each session after the first against the first."
    )
    notes: list[str] = strawberry.field(description="What the numbers must be read with.")


def _metric(d: Difference, a: str, b: str, confidence: float, label: str | None) -> MetricDifference:
    return MetricDifference(
        metric=ComparedMetric(d.metric),
        baseline_value=d.baseline,
        value=d.value,
        difference=d.difference,
        interval=None if d.low is None or d.high is None else DifferenceInterval(low=d.low, high=d.high),
        statement=domain.statement(d, a, b, confidence, label),
    )


def _difference(found: domain.SessionDifference, labels: list[str], confidence: float) -> SessionDifference:
    a, b = found.baseline.name, found.session.name
    if a == b:  # two sessions of one name: tell them apart by id
        a, b = f"{a} (#{found.baseline.id})", f"{b} (#{found.session.id})"
    per_label: dict[int, list[MetricDifference]] = {}
    overall = []
    for d in found.differences:
        if d.label is None:
            overall.append(_metric(d, a, b, confidence, None))
        else:
            per_label.setdefault(d.label, []).append(_metric(d, a, b, confidence, labels[d.label]))
    return SessionDifference(
        session=TestSession.from_row(found.session),
        baseline=TestSession.from_row(found.baseline),
        overall=overall,
        per_label=[LabelDifference(label=labels[k], metrics=m) for k, m in sorted(per_label.items())],
    )


@strawberry.type
class SessionComparisonQueries:
    @strawberry.field(
        description=(
            "Compare test sessions of one project on the frames they all processed: each session after "
            "the first against the first, in AP50, AP50:95, F1, precision, recall (overall and per label) "
            "and latency p95, with a paired bootstrap interval over frames (numpy default_rng(seed), "
            "`resamples` draws of the common frames). BAD_USER_INPUT naming ids (fewer than 2, more than "
            "10, of different projects, no common frame), ids[i] (named twice), resamples (1..10000) or "
            "confidence ((0, 1)); NOT_FOUND naming ids[i]."
        ),
        permission_classes=[IsViewer],
    )
    async def compare_test_sessions(
        self,
        info: Info,
        ids: Annotated[
            list[relay.GlobalID],
            strawberry.argument(description="TestSession ids of one project; the first is the baseline."),
        ],
        resamples: Annotated[
            int, strawberry.argument(description="Bootstrap resamples of the common frames, 1..10000.")
        ] = 1000,
        seed: Annotated[int, strawberry.argument(description="Seed of numpy's default_rng.")] = 0,
        confidence: Annotated[
            float, strawberry.argument(description="Confidence of the intervals, in (0, 1).")
        ] = 0.95,
    ) -> TestSessionComparison:
        session_ids = decode_ids(ids, "TestSession", "ids")
        found = await domain.compare_test_sessions(
            info.context.runtime, session_ids, resamples=resamples, seed=seed, confidence=confidence
        )
        sessions = [TestSession.from_row(r) for r in found.sessions]
        return TestSessionComparison(
            sessions=sessions,
            baseline=sessions[0],
            frames=found.frames,
            labels=found.labels,
            resamples=found.resamples,
            seed=found.seed,
            confidence=found.confidence,
            differences=[_difference(d, found.labels, found.confidence) for d in found.compared],
            notes=found.notes,
        )


@strawberry.type(description="One evaluated session's value of a metric, on a project's dashboard.")
class SessionMetricPoint:
    metric: ComparedMetric = strawberry.field(description="The metric.")
    session: TestSession = strawberry.field(description="The session.")
    at: datetime = strawberry.field(description="When the session started (created, if it never started).")
    value: float = strawberry.field(description="Its value in the session's own evaluation (latency in ms).")


@strawberry.type(description="A metric over a project's evaluated sessions, oldest first, and its best.")
class SessionMetricTrend:
    metric: ComparedMetric = strawberry.field(description="The metric.")
    points: list[SessionMetricPoint] = strawberry.field(description="Each evaluated session, by time.")
    best: SessionMetricPoint | None = strawberry.field(
        description="The best session: highest value, lowest for LATENCY_P95; the earlier on a tie."
    )


def session_trends(rows: list[TestSessionRow]) -> list[SessionMetricTrend]:
    """The dashboard's trends from a project's sessions (domain/validation/comparison_trends.py)."""
    out = []
    for trend in trends_domain.session_trends(rows):
        metric = ComparedMetric(trend.metric)

        def point(p: trends_domain.TrendPoint, metric: ComparedMetric = metric) -> SessionMetricPoint:
            return SessionMetricPoint(
                metric=metric, session=TestSession.from_row(p.session), at=p.at, value=p.value
            )

        out.append(
            SessionMetricTrend(
                metric=metric,
                points=[point(p) for p in trend.points],
                best=None if trend.best is None else point(trend.best),
            )
        )
    return out
