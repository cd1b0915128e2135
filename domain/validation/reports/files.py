"""The report's files: JSON (data.py's dict) and CSV (the stored comparisons, one row each), written
under a temporary name and renamed when whole (blocking: run in a thread)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.validation.reports.load import ReportInputs

KINDS = {"TP": "TP", "FP": "FP", "FN": "FN", "IG": "IGNORED"}
CSV_COLUMNS = (
    "comparison_id",
    "kind",
    "episode_id",
    "episode_index",
    "dataset",
    "camera",
    "frame",
    "time_s",
    "label",
    "iou",
    "detection_id",
    "score",
    "detection_x",
    "detection_y",
    "detection_width",
    "detection_height",
    "latency_ms",
    "temporal_offset_ms",
    "annotation_id",
    "truth_x",
    "truth_y",
    "truth_width",
    "truth_height",
)


def _replace_when_done(path: Path, write: Callable[[Any], None], newline: str | None = None) -> None:
    tmp = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("w", encoding="utf-8", newline=newline) as out:
            write(out)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number is written null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, report: dict[str, Any]) -> None:
    """The report dict as UTF-8 JSON (strict: NaN or infinity become null)."""
    _replace_when_done(path, lambda out: json.dump(_finite(report), out, allow_nan=False))


def csv_rows(inputs: ReportInputs) -> list[list[Any]]:
    """One row per stored comparison, by id, in CSV_COLUMNS order: where it is, what it is, the
    detection (score, box in pixels, latency) and the ground-truth box (empty where there is none, or
    where the box was deleted since the evaluation)."""
    detections = {r.id: r for r in inputs.det_rows}
    truths = {r.id: r for r in inputs.gt_rows}
    rows: list[list[Any]] = []
    for c in inputs.comparisons:
        episode = inputs.episodes.get(c.episode_id)
        times = inputs.times.get(c.episode_id)
        d = detections.get(c.detection_id) if c.detection_id is not None else None
        g = truths.get(c.annotation_id) if c.annotation_id is not None else None
        rows.append(
            [
                c.id,
                KINDS.get(c.kind, c.kind),
                c.episode_id,
                episode.index if episode else "",
                episode.dataset if episode else "",
                c.camera,
                c.frame,
                float(times[c.frame]) if times is not None and c.frame < len(times) else "",
                c.label,
                c.iou,
                c.detection_id if c.detection_id is not None else "",
                *((d.score, d.x, d.y, d.width, d.height) if d else ("",) * 5),
                d.latency_ms if d is not None and d.latency_ms is not None else "",
                c.temporal_offset_ms if c.temporal_offset_ms is not None else "",
                c.annotation_id if c.annotation_id is not None else "",
                *((g.x, g.y, g.width, g.height) if g else ("",) * 4),
            ]
        )
    return rows


def write_csv(path: Path, inputs: ReportInputs) -> int:
    """The comparisons as CSV (header CSV_COLUMNS); returns the rows written."""
    rows = csv_rows(inputs)

    def write(out) -> None:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)

    _replace_when_done(path, write, newline="")
    return len(rows)


def write_html(path: Path, document: str) -> None:
    _replace_when_done(path, lambda out: out.write(document))
