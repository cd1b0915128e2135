"""The report's plots drawn by matplotlib (Agg, object API: no pyplot state, safe in a worker thread),
each returned as PNG bytes without metadata (no software URL inside the file).

Every function takes the report dict (data.py) or a part of it and blocks: run it in a thread.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
COLOURS = {"tp": "#2e7d32", "fp": "#c62828", "fn": "#ef6c00"}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def pr_curve_plot(curves: dict[str, Any]) -> bytes:
    """Interpolated precision against recall, one line per label with its AP at the session's IoU."""
    figure = _figure()
    ax = figure.add_subplot()
    recall = np.asarray(curves["recall"])
    drawn = 0
    for entry in curves["labels"]:
        if entry["precision"] is None:
            continue
        ax.plot(recall, entry["precision"], label=f"{entry['label']} (AP {entry['ap']:.3f})")
        drawn += 1
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision (interpolated)")
    ax.set_title(f"Precision-recall at IoU {curves['iou']:g} (COCO, 101 recall points)")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(loc="lower left", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no label has ground truth", ha="center", va="center")
    return _png(figure)


def sweep_plot(sweep: dict[str, Any]) -> bytes:
    """Precision, recall and F1 against the score threshold; the best F1 marked."""
    figure = _figure()
    ax = figure.add_subplot()
    thresholds = sweep["thresholds"]
    overall = sweep["overall"]

    def values(key: str) -> list[float]:
        return [np.nan if v is None else v for v in overall[key]]

    if thresholds:
        ax.plot(thresholds, values("precision"), label="precision", color="#1565c0")
        ax.plot(thresholds, values("recall"), label="recall", color="#ef6c00")
        ax.plot(thresholds, values("f1"), label="F1", color="#2e7d32", linewidth=2)
    best = sweep["best"]
    if best is not None:
        ax.axvline(best["threshold"], color="#2e7d32", linestyle="--", linewidth=1)
        ax.plot([best["threshold"]], [best["f1"]], "o", color="#2e7d32")
        ax.annotate(
            f"best F1 {best['f1']:.3f} at score >= {best['threshold']:.3f}",
            (best["threshold"], best["f1"]),
            textcoords="offset points",
            xytext=(6, -14),
            fontsize="small",
        )
    else:
        ax.text(0.5, 0.5, "no detection", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("score threshold (detections kept: score >= threshold)")
    ax.set_ylabel("value")
    ax.set_title("Confidence threshold sweep")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    return _png(figure)


def latency_plot(latency: dict[str, Any]) -> bytes:
    """The latency histogram with p50 / p95 / p99 and the tolerance as vertical lines."""
    figure = _figure(7.0, 3.5)
    ax = figure.add_subplot()
    edges, counts = latency["binEdgesMs"], latency["counts"]
    if counts:
        ax.stairs(counts, edges, fill=True, color="#90caf9", edgecolor="#1565c0")
        for key, style, name in (
            ("p50Ms", ":", "p50"),
            ("p95Ms", "--", "p95"),
            ("p99Ms", "-.", "p99"),
        ):
            if latency[key] is not None:
                ax.axvline(
                    latency[key], color="#37474f", linestyle=style, label=f"{name} {latency[key]:.1f} ms"
                )
        ax.axvline(
            latency["toleranceMs"],
            color="#c62828",
            linewidth=2,
            label=f"tolerance {latency['toleranceMs']:g} ms",
        )
        ax.legend(fontsize="small")
        if latency["beyond"]:
            ax.set_title(f"Latency ({latency['beyond']} measurement(s) beyond {edges[-1]:.0f} ms not shown)")
        else:
            ax.set_title("Latency")
    else:
        ax.text(0.5, 0.5, "no latency measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Latency")
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("measurements")
    ax.grid(alpha=0.3)
    return _png(figure)


def frames_plot(series: dict[str, Any]) -> bytes:
    """TP / FP / FN per frame of one episode's camera against its time (steps)."""
    figure = _figure(7.0, 2.4)
    ax = figure.add_subplot()
    x = [t if t is not None else f for t, f in zip(series["time"], series["frame"], strict=True)]
    for key in ("tp", "fp", "fn"):
        ax.step(x, series[key], where="post", color=COLOURS[key], label=key.upper(), linewidth=1)
    unit = "s" if all(t is not None for t in series["time"]) else "frame"
    ax.set_xlabel(f"episode time, {unit}")
    ax.set_ylabel("per frame")
    ax.set_title(
        f"episode {series['episodeIndex']} of {series['dataset']}, camera {series['camera']}",
        fontsize="medium",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="x-small", ncols=3)
    return _png(figure)
