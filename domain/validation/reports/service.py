"""`exportTestSessionReport`: an evaluated test session's report as a download (HTML, JSON or CSV), run
as an EXPORT job (queue `io`) whose work is registered, so the server or an `annograph worker` runs it
from the job's row alone.

The request is checked before any job exists: the format (BAD_USER_INPUT `format`), the session
(NOT_FOUND `session_id`) and its evaluation (CONFLICT `session_id` while it has none). The job reads the
session again (load.py), computes the curves in the process pool and the rest in a thread (data.py),
draws the plots and thumbnails in a thread (html.py), writes the file under the job's artifact folder
and completes with `result.artifact` (the graph's `artifactUrl`) and a summary {format, testSessionId,
bytes, and rows for CSV}. Progress: reading 0-0.15, numbers to 0.4, the HTML's plots and thumbnails to
0.95.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Any

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput
from domain.core.job_registry import register, registered_body
from domain.core.job_runner import JobContext, JobKind
from domain.core.runtime import Runtime
from domain.objects.transfer.exports import artifact_path
from domain.validation.reports.data import assemble, curve_inputs, curves_of
from domain.validation.reports.files import write_csv, write_html, write_json
from domain.validation.reports.html import render
from domain.validation.reports.load import ReportInputs, evaluated_session, load_inputs
from domain.validation.reports.thumbnails import thumbnail
from persistence.documents import JobParameters
from persistence.episode_sources import episode_ref
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.tables import JobRow


class ReportFormat(StrEnum):
    HTML = "HTML"
    JSON = "JSON"
    CSV = "CSV"


SUFFIX = {ReportFormat.HTML: "html", ReportFormat.JSON: "json", ReportFormat.CSV: "csv"}


class TestSessionReportParameters(JobParameters):
    """EXPORT of a test session's report (stored as the job's parameters)."""

    __test__ = False  # not a pytest class, despite the name

    test_session_id: int
    report_format: str


def report_format(value: str) -> ReportFormat:
    """`value` as a ReportFormat; BAD_USER_INPUT naming `format` otherwise."""
    try:
        return ReportFormat(value)
    except ValueError:
        raise BadUserInput(
            f"format: {value!r} is not a report format (HTML, JSON or CSV)", field="format"
        ) from None


async def export_test_session_report(rt: Runtime, viewer: Viewer, session_id: int, fmt: str) -> JobRow:
    """Check the request (module docstring), then submit the report's job; returns it PENDING or
    RUNNING. The artifact is `test_session_<id>_report.<html|json|csv>`."""
    chosen = report_format(fmt)
    row = await evaluated_session(rt, session_id)
    return await rt.jobs.submit(
        kind=JobKind.EXPORT,
        target=f"report:test_session:{row.id}",
        body=registered_body(rt),
        parameters=TestSessionReportParameters(
            test_session_id=row.id, report_format=chosen.value, requested_by=viewer.user_id
        ),
    )


async def _thumbnails(rt: Runtime, inputs: ReportInputs, report: dict[str, Any]) -> tuple[list, list]:
    """PNG thumbnails of the worst false positives and misses (None where the frame cannot be read)."""
    entries = report["worstFalsePositives"] + report["worstMisses"]
    ids = sorted({e["episodeId"] for e in entries})
    async with rt.sessions() as session:
        episodes = {e.id: e for e in await episodes_repo.read_episodes_by_ids(session, ids)}
        datasets = {
            d.id: d
            for d in await datasets_repo.read_datasets_by_ids(
                session, sorted({e.dataset_id for e in episodes.values()})
            )
        }

    def draw(entry: dict[str, Any], kind: str) -> bytes | None:
        episode = episodes.get(entry["episodeId"])
        if episode is None:
            return None
        try:
            pixels = rt.files.read_frame(
                episode_ref(datasets[episode.dataset_id], episode), entry["camera"], entry["frame"]
            )
        except Exception:  # noqa: BLE001 - a frame that cannot be read is shown as such, not a failure
            return None
        return thumbnail(pixels, entry, kind)

    def all_of() -> tuple[list, list]:
        return (
            [draw(e, "FP") for e in report["worstFalsePositives"]],
            [draw(e, "FN") for e in report["worstMisses"]],
        )

    return await asyncio.to_thread(all_of)


@register(JobKind.EXPORT, TestSessionReportParameters)
async def run_report_job(rt: Runtime, ctx: JobContext) -> None:
    """A report job rebuilt from its parameters: the session read again (NOT_FOUND / CONFLICT naming
    session_id when it is gone or no longer evaluated)."""
    stored = ctx.job.parameters.as_kind(TestSessionReportParameters)
    assert stored is not None  # the registry chose this function for these parameters
    fmt = report_format(stored.report_format)
    loop = asyncio.get_running_loop()

    def progress(low: float, high: float, message: str):
        def report(fraction: float) -> None:
            asyncio.run_coroutine_threadsafe(ctx.progress(low + (high - low) * fraction, message), loop)

        return report

    await ctx.progress(0.0, "reading the session")
    inputs = await load_inputs(rt, stored.test_session_id)
    name = f"test_session_{stored.test_session_id}_report.{SUFFIX[fmt]}"
    path: Path = artifact_path(rt, ctx.job.id, name)

    async def undo() -> None:  # a job that failed or was cancelled leaves no file
        await asyncio.to_thread(path.unlink, True)

    ctx.on_end(undo)
    summary: dict[str, Any] = {"format": fmt.value, "testSessionId": stored.test_session_id}
    await ctx.progress(0.15, "computing the numbers" if fmt is not ReportFormat.CSV else "writing")
    if fmt is ReportFormat.CSV:
        summary["rows"] = await asyncio.to_thread(write_csv, path, inputs)
    else:
        prepared = await asyncio.to_thread(curve_inputs, inputs)
        curves, sweep = await loop.run_in_executor(rt.workers(), curves_of, prepared)
        report = await asyncio.to_thread(assemble, inputs, prepared.names, curves, sweep)
        await ctx.progress(0.4, "drawing" if fmt is ReportFormat.HTML else "writing")
        if fmt is ReportFormat.JSON:
            await asyncio.to_thread(write_json, path, report)
        else:
            fp_images, fn_images = await _thumbnails(rt, inputs, report)
            document = await asyncio.to_thread(
                render, report, fp_images, fn_images, progress(0.45, 0.95, "drawing")
            )
            await asyncio.to_thread(write_html, path, document)
    summary["bytes"] = (await asyncio.to_thread(path.stat)).st_size
    async with rt.sessions() as session, session.begin():
        await ctx.finish(session, summary=summary, result={"artifact": name, **summary})
