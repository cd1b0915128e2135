"""How a device under test reports its detections: its signal path, and the latency each path may take.

A device on the robot reports over a network (NETWORK: HTTP to ingestDetectionEvents directly), a serial
line (SERIAL: UART/RS-232/USB-CDC, through a bridge that reads the port and posts events), a CAN bus (CAN,
through a bridge on the bus) or a digital line (GPIO: a pin that rises on a detection, timed by a bridge).
An EXTERNAL test session names the paths its device uses, each with its latency tolerance in ms; the
first is its default. Every event travels one path: the one it names (`signalPath`), else the session's
default. Its latency (receipt minus the device's send time) is then broken down by path, each judged
against its own tolerance. Sessions made before paths existed have one: NETWORK at their toleranceMs.

A leaf module of the feature: the vocabulary, the defaults and the pure breakdown (numpy), no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from domain.core.errors import BadUserInput
from domain.validation.metrics.latency import latency_stats
from persistence.documents.test_session import PathLatencySummary
from persistence.documents.test_session import PathTolerance as StoredPath
from persistence.tables import TestSessionRow


class SignalPath(StrEnum):
    NETWORK = "NETWORK"
    SERIAL = "SERIAL"
    CAN = "CAN"
    GPIO = "GPIO"


@dataclass(frozen=True)
class PathTolerance:
    """A path a session's device reports over, and the latency counted as on time on it (ms, > 0)."""

    path: SignalPath
    tolerance_ms: float


@dataclass(frozen=True)
class PathLatency:
    """Latency of the detections that came over one path (ms; None without a measurement);
    `within_tolerance` is the share at or under the path's `tolerance_ms`."""

    path: SignalPath
    tolerance_ms: float
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    within_tolerance: float | None


def check_paths(
    given: Sequence[tuple[str, float | None]] | None, tolerance_ms: float, field: str = "signal_paths"
) -> list[PathTolerance]:
    """A session's paths from (path, tolerance or None: the session's `tolerance_ms`) pairs; None gives
    NETWORK alone. BAD_USER_INPUT naming `field[i].path` for an unknown or repeated path,
    `field[i].tolerance_ms` for one not > 0 and finite, `field` for an empty list."""
    if given is None:
        return [PathTolerance(SignalPath.NETWORK, tolerance_ms)]
    if not given:
        raise BadUserInput(f"{field}: name at least one path, or leave it out for NETWORK", field=field)
    out: list[PathTolerance] = []
    for i, (path, tolerance) in enumerate(given):
        try:
            known = SignalPath(path)
        except ValueError:
            names = ", ".join(p.value for p in SignalPath)
            raise BadUserInput(
                f"{field}[{i}].path: {path!r} is not one of {names}", field=f"{field}[{i}].path"
            ) from None
        if any(p.path is known for p in out):
            raise BadUserInput(f"{field}[{i}].path: {known} is named twice", field=f"{field}[{i}].path")
        value = tolerance_ms if tolerance is None else tolerance
        if not (np.isfinite(value) and value > 0):
            raise BadUserInput(
                f"{field}[{i}].tolerance_ms: must be a number > 0, got {value}",
                field=f"{field}[{i}].tolerance_ms",
            )
        out.append(PathTolerance(known, float(value)))
    return out


def resolve_path(name: str | None, paths: Sequence[PathTolerance], field: str) -> SignalPath:
    """The path an event travelled: the one it names, which must be one of the session's, else the
    session's default (the first). BAD_USER_INPUT naming `field` otherwise."""
    if name is None:
        return paths[0].path
    for p in paths:
        if p.path.value == name:
            return p.path
    allowed = ", ".join(p.path.value for p in paths)
    raise BadUserInput(f"{field}: {name!r} is not a signal path of this session ({allowed})", field=field)


def latency_by_path(
    pairs: Sequence[tuple[str, float | None]], paths: Sequence[PathTolerance]
) -> list[PathLatency]:
    """Latency per path from (path, latency ms or None) pairs: every path of the session, in its order,
    then any other path the events carry (rows from before a path was removed), each with its tolerance
    (the default path's for those). Percentiles as metrics/latency.py computes them."""
    names = [p.path.value for p in paths]
    tolerance = {p.path.value: p.tolerance_ms for p in paths}
    for path, _ in pairs:
        if path not in tolerance:
            names.append(path)
            tolerance[path] = paths[0].tolerance_ms
    values: dict[str, list[float]] = {n: [] for n in names}
    for path, ms in pairs:
        if ms is not None:
            values[path].append(ms)
    out = []
    for name in names:
        s = latency_stats(np.asarray(values[name], dtype=np.float64), tolerance[name])
        out.append(
            PathLatency(
                SignalPath(name),
                tolerance[name],
                s.count,
                s.p50_ms,
                s.p95_ms,
                s.p99_ms,
                s.max_ms,
                s.within_tolerance,
            )
        )
    return out


def session_paths(row: TestSessionRow) -> list[PathTolerance]:
    """The session's paths as stored in its settings, the default first; NETWORK at its toleranceMs for
    a session that names none (every session made before paths existed)."""
    stored = row.settings.signal_paths
    if not stored:
        return [PathTolerance(SignalPath.NETWORK, row.tolerance_ms)]
    return [PathTolerance(SignalPath(p.path), p.tolerance_ms) for p in stored]


def stored_paths(paths: Sequence[PathTolerance]) -> list[StoredPath]:
    """The paths as test_session.settings.signalPaths holds them."""
    return [StoredPath(path=p.path.value, tolerance_ms=p.tolerance_ms) for p in paths]


def stored_latency(found: Sequence[PathLatency]) -> list[PathLatencySummary]:
    """The latency by path as test_session.metrics.latencyByPath holds it."""
    return [
        PathLatencySummary(
            path=p.path.value,
            tolerance_ms=p.tolerance_ms,
            count=p.count,
            p50=p.p50_ms,
            p95=p.p95_ms,
            p99=p.p99_ms,
            max=p.max_ms,
            within_tolerance=p.within_tolerance,
        )
        for p in found
    ]
