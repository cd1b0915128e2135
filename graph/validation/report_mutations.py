from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from domain.validation.reports import service as reports
from graph.context import Info
from graph.ids import decode_id
from graph.jobs.job import Job
from graph.permissions import IsReviewer


@strawberry.enum(description="What a test session's report is written as.")
class ReportFormat(Enum):
    HTML = "HTML"  # one self-contained page: verdict, metrics, plots, thumbnails; opens without network
    JSON = "JSON"  # the same numbers
    CSV = "CSV"  # the comparisons, one row each


@strawberry.type
class ReportMutations:
    @strawberry.mutation(
        description=(
            "Write an evaluated test session's report as a job (reviewers); the finished job's "
            "`artifactUrl` downloads it. HTML: one self-contained file (no network needed) with the "
            "verdict and each criterion, metrics overall and per label with 95 % intervals, the "
            "precision-recall curve per label at the session's matchIou, precision / recall / F1 against "
            "the score threshold with the best F1 marked, the latency histogram with p50/p95/p99 and the "
            "tolerance, TP/FP/FN per frame along each episode's time and thumbnails of the worst false "
            "positives and misses. JSON: the same numbers (metrics under the graph's names). CSV: the "
            "session's comparisons, one row each, with the detection's score and box and the ground-truth "
            "box. NOT_FOUND (sessionId) for no such session, CONFLICT (sessionId) while it has no "
            "evaluation."
        ),
        permission_classes=[IsReviewer],
    )
    async def export_test_session_report(
        self,
        info: Info,
        session_id: Annotated[relay.GlobalID, strawberry.argument(description="The test session.")],
        format: Annotated[ReportFormat, strawberry.argument(description="HTML, JSON or CSV.")],
    ) -> Job:
        job = await reports.export_test_session_report(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(session_id, "TestSession", "sessionId"),
            format.value,
        )
        return Job.from_row(job)
