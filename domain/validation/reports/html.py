"""The HTML report: one self-contained file (inline CSS, images as base64 PNG `data:` URLs, no script,
no link, nothing fetched; its Content-Security-Policy allows no network at all). Every text that comes
from users (names, labels, reasons) is escaped.

Sections, each a `<section id=...>`: verdict (with each criterion), metrics (overall, with intervals),
per-label, precision-recall, threshold-sweep, latency, frames (per episode), false-positives, misses,
notes. `render` blocks (matplotlib, Pillow): run it in a thread.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np

from domain.validation.reports import plots

SECTIONS = (
    "verdict",
    "metrics",
    "per-label",
    "precision-recall",
    "threshold-sweep",
    "latency",
    "frames",
    "false-positives",
    "misses",
    "notes",
)
# Episodes (episode x camera series) drawn one plot each; the JSON and CSV reports hold every one.
MAX_FRAME_PLOTS = 40

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #212121; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .25em .7em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.pass { color: #fff; background: #2e7d32; padding: .1em .6em; border-radius: 4px; }
.fail { color: #fff; background: #c62828; padding: .1em .6em; border-radius: 4px; }
.muted { color: #666; } img.plot { max-width: 100%; }
.thumbs { display: flex; flex-wrap: wrap; gap: .8em; }
figure { margin: 0; width: 200px; font-size: 12px; } figcaption { word-break: break-word; }
"""


def _img(png: bytes, alt: str, css: str = "plot") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{css}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(interval: dict | None) -> str:
    return "" if interval is None else f"[{interval['low']:.3f}, {interval['high']:.3f}]"


def _metrics_row(name: str, m: dict[str, Any]) -> str:
    cells = [
        escape(name),
        str(m["truePositives"]),
        str(m["falsePositives"]),
        str(m["falseNegatives"]),
        f"{_num(m['precision'])} {_ci(m['precisionInterval'])}",
        f"{_num(m['recall'])} {_ci(m['recallInterval'])}",
        f"{_num(m['f1'])} {_ci(m['f1Interval'])}",
        f"{_num(m['ap50'])} {_ci(m['ap50Interval'])}",
        _num(m["ap50To95"]),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


METRICS_HEAD = (
    "<tr><th></th><th>TP</th><th>FP</th><th>FN</th><th>precision [95 %]</th><th>recall [95 %]</th>"
    "<th>F1 [95 %]</th><th>AP50 [95 %]</th><th>AP50:95</th></tr>"
)


def _verdict(report: dict[str, Any]) -> str:
    v = report["verdict"]
    badge = '<span class="pass">PASSED</span>' if v["passed"] else '<span class="fail">FAILED</span>'
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td>{escape(c['comparison'])} {c['bound']:g}</td>"
        f"<td>{_num(c['value'])}</td><td>{'met' if c['passed'] else 'not met'}</td></tr>"
        for c in v["criteria"]
    )
    table = (
        f"<table><tr><th>criterion</th><th>required</th><th>measured</th><th></th></tr>{rows}</table>"
        if rows
        else '<p class="muted">The project set no criterion.</p>'
    )
    reasons = "".join(f"<li>{escape(r)}</li>" for r in v["reasons"])
    notes = "".join(f"<li>{escape(n)}</li>" for n in v["notes"])
    return (
        f"<p>Verdict: {badge}</p>{table}"
        + (f"<p>Reasons:</p><ul>{reasons}</ul>" if reasons else "")
        + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else "")
    )


def _thumbs(entries: list[dict], images: list[bytes | None], kind: str) -> str:
    if not entries:
        return '<p class="muted">None.</p>'
    figures = []
    for entry, png in zip(entries, images, strict=True):
        where = (
            f"episode {entry['episodeIndex']} of {entry['dataset']}, {entry['camera']} frame {entry['frame']}"
        )
        what = escape(entry["label"]) + (f", score {entry['score']:.3f}" if kind == "FP" else "")
        b = entry["box"]
        size = f"{b['width']:.0f} x {b['height']:.0f} px"
        picture = _img(png, f"{kind} {entry['label']}", "thumb") if png else "<p>(frame unreadable)</p>"
        figures.append(
            f"<figure>{picture}<figcaption>{what}; {size}<br>{escape(where)}</figcaption></figure>"
        )
    return '<div class="thumbs">' + "".join(figures) + "</div>"


def render(
    report: dict[str, Any],
    fp_images: list[bytes | None],
    fn_images: list[bytes | None],
    progress: Callable[[float], None] = lambda f: None,
) -> str:
    """The whole HTML document of `report` (data.py), with the thumbnails given (PNG, None for a frame
    that could not be read) in the order of worstFalsePositives and worstMisses."""
    s, ev = report["session"], report["evaluation"]
    title = f"Test session report: {s['name']}"
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class=muted>Project {escape(s['project'])}; {escape(s['source'])}"
        + (f" model {escape(s['model'])}" if s["model"] else "")
        + f"; status {escape(s['status'])}; evaluated {escape(s['evaluatedAt'] or 'n/a')}; match IoU "
        f"{s['matchIou']:g}; latency tolerance {s['toleranceMs']:g} ms; {ev['frames']} frames evaluated"
        + (f" ({escape(ev['note'])})" if ev["note"] else "")
        + f". Report made {datetime.now(UTC).isoformat(timespec='seconds')}.</p>",
        f'<section id="verdict"><h2>Verdict</h2>{_verdict(report)}</section>',
        '<section id="metrics"><h2>Metrics</h2>',
        f"<p>{ev['groundTruthBoxes']} ground-truth boxes, {ev['detections']} detections "
        f"({ev['ignoredDetections']} of other labels not judged, {ev['difficultBoxes']} difficult or crowd "
        f"boxes ignored). Precision and recall intervals are Wilson's; F1 and AP50 intervals a bootstrap "
        "over frames.</p>",
        f"<table>{METRICS_HEAD}{_metrics_row('all labels', ev['overall'])}</table></section>",
        '<section id="per-label"><h2>Per label</h2><table>',
        METRICS_HEAD,
        "".join(_metrics_row(p["label"], p["metrics"]) for p in ev["perLabel"]),
        "</table></section>",
    ]
    progress(0.1)
    pr = report["precisionRecall"]
    parts.append(
        '<section id="precision-recall"><h2>Precision-recall</h2>'
        + _img(plots.pr_curve_plot(pr), "precision-recall curves")
        + "</section>"
    )
    progress(0.25)
    sweep = report["thresholdSweep"]
    best = sweep["best"]
    best_text = (
        f"Best F1 {best['f1']:.3f} (precision {_num(best['precision'])}, recall {_num(best['recall'])}) "
        f"keeping detections with score &gt;= {best['threshold']:.4g}."
        if best
        else "No detection."
    )
    parts.append(
        f'<section id="threshold-sweep"><h2>Confidence threshold</h2><p>{best_text}</p>'
        + _img(plots.sweep_plot(sweep), "precision, recall and F1 against the score threshold")
        + "</section>"
    )
    progress(0.4)
    lat = report["latency"]
    within = ev["latency"]["withinTolerance"]
    parts.append(
        '<section id="latency"><h2>Latency</h2>'
        f"<p>{ev['latency']['count']} measurements: p50 {_num(lat['p50Ms'], 1)} ms, p95 "
        f"{_num(lat['p95Ms'], 1)} ms, p99 {_num(lat['p99Ms'], 1)} ms, max {_num(lat['maxMs'], 1)} ms; "
        f"{_num(None if within is None else 100 * within, 1)}"
        f" % within the tolerance of {lat['toleranceMs']:g} ms.</p>"
        + _img(plots.latency_plot(lat), "latency histogram")
        + "</section>"
    )
    progress(0.5)
    series = report["frames"]
    # the episodes with the most errors first when not all are drawn
    shown = sorted(range(len(series)), key=lambda i: -int(np.sum(series[i]["fp"]) + np.sum(series[i]["fn"])))[
        :MAX_FRAME_PLOTS
    ]
    frames_html = []
    for n, i in enumerate(sorted(shown)):
        frames_html.append(
            _img(plots.frames_plot(series[i]), f"TP FP FN along episode {series[i]['episodeIndex']}")
        )
        progress(0.5 + 0.4 * (n + 1) / max(len(shown), 1))
    left_out = len(series) - len(shown)
    parts.append(
        '<section id="frames"><h2>Along each episode</h2><p>TP, FP and FN of each processed frame against '
        "the episode's time.</p>"
        + "".join(frames_html)
        + (
            f"<p class=muted>{left_out} more episode camera(s) with fewer errors are in the JSON report.</p>"
            if left_out
            else ""
        )
        + "</section>"
    )
    parts.append(
        '<section id="false-positives"><h2>Worst false positives</h2><p>The highest-scored detections that '
        "matched nothing (red; ground truth of the label green, other detections blue).</p>"
        + _thumbs(report["worstFalsePositives"], fp_images, "FP")
        + "</section>"
    )
    parts.append(
        '<section id="misses"><h2>Worst misses</h2><p>The largest boxes no detection matched (orange).</p>'
        + _thumbs(report["worstMisses"], fn_images, "FN")
        + "</section>"
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report["notes"])
    parts.append(
        '<section id="notes"><h2>Notes</h2><ul>'
        + (notes or "<li>Curves and counts come from the same ground truth as the evaluation.</li>")
        + f"<li>AP follows COCO (greedy matching by score, at most {s['maxDetections']} detections per "
        "frame and label, 101 recall points); TP, FP and FN an optimal one-to-one matching at the match "
        "IoU.</li></ul></section></body></html>"
    )
    progress(1.0)
    return "".join(parts)
