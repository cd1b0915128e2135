"""GET /health: really asks the database and the event broadcaster, and says which is down."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.core.runtime import Runtime

log = logging.getLogger(__name__)
TIMEOUT = 3.0


async def _check_database(rt: Runtime) -> None:
    async with asyncio.timeout(TIMEOUT), rt.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_broadcaster(rt: Runtime) -> None:
    await rt.events.ping(timeout=TIMEOUT)


async def health(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    checks = {"database": _check_database(rt), "broadcaster": _check_broadcaster(rt)}
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    report = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, BaseException):
            reason = "timed out" if isinstance(result, TimeoutError) else f"{type(result).__name__}: {result}"
            log.warning("health: %s is down (%s)", name, reason)
            report[name] = {"status": "down", "error": reason[:300]}
        else:
            report[name] = {"status": "up"}
    healthy = all(r["status"] == "up" for r in report.values())
    return JSONResponse(
        {"status": "ok" if healthy else "down", "checks": report}, status_code=200 if healthy else 503
    )
