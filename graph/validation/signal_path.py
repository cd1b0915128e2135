"""The device's signal path in the graph: how a device under test reports (NETWORK, SERIAL, CAN, GPIO),
the tolerance per path, and the latency by path (domain/validation/signal_paths.py)."""

from __future__ import annotations

import strawberry

from domain.validation import signal_paths as domain
from persistence.documents.test_session import PathLatencySummary

# The domain's enum, registered in place as the other validation enums are.
SignalPath = domain.SignalPath
strawberry.enum(
    SignalPath,
    description=(
        "How a device reports: NETWORK (HTTP straight to ingestDetectionEvents), SERIAL (a UART or USB "
        "serial line read by a bridge), CAN (a CAN bus read by a bridge), GPIO (a digital line a bridge "
        "times)."
    ),
)


@strawberry.input(description="A signal path an EXTERNAL session's device reports over.")
class SignalPathInput:
    path: SignalPath = strawberry.field(description="The path.")
    tolerance_ms: float | None = strawberry.field(
        default=None,
        description="Latency counted as on time on this path, ms (> 0); default the session's toleranceMs.",
    )


@strawberry.type(description="A signal path of a session and the latency it may take.")
class SignalPathSetting:
    path: SignalPath = strawberry.field(description="The path.")
    tolerance_ms: float = strawberry.field(description="Latency counted as on time on it, ms.")
    default: bool = strawberry.field(description="Events that name no path came over this one (the first).")


@strawberry.type(
    description="Latency of the detections that came over one signal path (ms; null without any)."
)
class PathLatencyStats:
    path: SignalPath = strawberry.field(description="The path.")
    tolerance_ms: float = strawberry.field(description="The path's tolerance, ms.")
    count: int = strawberry.field(description="Detections with a measured latency over this path.")
    p50_ms: float | None = strawberry.field(description="Median, ms.")
    p95_ms: float | None = strawberry.field(description="95th percentile (numpy's linear), ms.")
    p99_ms: float | None = strawberry.field(description="99th percentile, ms.")
    max_ms: float | None = strawberry.field(description="Largest, ms.")
    within_tolerance: float | None = strawberry.field(description="Share at or under the path's toleranceMs.")

    @classmethod
    def of(cls, s: PathLatencySummary) -> PathLatencyStats:
        return cls(
            path=SignalPath(s.path),
            tolerance_ms=s.tolerance_ms,
            count=s.count,
            p50_ms=s.p50,
            p95_ms=s.p95,
            p99_ms=s.p99,
            max_ms=s.max,
            within_tolerance=s.within_tolerance,
        )


def path_settings(paths: list[domain.PathTolerance]) -> list[SignalPathSetting]:
    return [
        SignalPathSetting(path=p.path, tolerance_ms=p.tolerance_ms, default=i == 0)
        for i, p in enumerate(paths)
    ]
