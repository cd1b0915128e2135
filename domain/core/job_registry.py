"""A job's work rebuilt from its row: one registered function per job kind (and parameters shape).

A service registers `async def run(rt, ctx) -> None` for its kind; the function reads everything it
needs from `ctx.job` (its stored parameters, persistence/documents/job.py) and the database, so any
process that reaches the database and the data roots can run the job given only its id: the server
(embedded queue) or `annograph worker` (procrastinate queue). Every kind the services submit is
registered (domain.jobs.worker imports them); a body that is not (a closure: `JobRunner.submit(body=...)`
from a test or a bench) runs in the process that submitted it.

Two kinds of work may share a JobKind (EXPORT: annotations or episodes); each registers the
parameters model it reads, and a job runs the first registration its parameters validate as.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.core.job_runner import JobContext, JobKind
from persistence.documents import JobParameters
from persistence.tables import JobRow

if TYPE_CHECKING:
    from domain.core.runtime import Runtime

JobFunction = Callable[["Runtime", JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Registered:
    kind: JobKind
    parameters: type[JobParameters]
    run: JobFunction


_REGISTRY: dict[JobKind, list[Registered]] = {}


def register(kind: JobKind, parameters: type[JobParameters]) -> Callable[[JobFunction], JobFunction]:
    """Decorator: `run` does the work of `kind` jobs whose parameters validate as `parameters`."""

    def decorate(run: JobFunction) -> JobFunction:
        entries = _REGISTRY.setdefault(kind, [])
        if not any(e.parameters is parameters for e in entries):
            entries.append(Registered(kind, parameters, run))
        return run

    return decorate


def registered_for(job: JobRow) -> Registered | None:
    """The registration that runs `job`, None when its kind's work is not registered."""
    for entry in _REGISTRY.get(JobKind(job.kind), []):
        if job.parameters.as_kind(entry.parameters) is not None:
            return entry
    return None


class RegisteredBody:
    """A JobBody that runs the registered function of the job it is given: the runner may run it in
    this process or hand the job to a queue, since the job's row alone rebuilds it."""

    queueable = True

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def __call__(self, ctx: JobContext) -> None:
        entry = registered_for(ctx.job)
        if entry is None:
            raise RuntimeError(
                f"job {ctx.job.id}: no registered work for {ctx.job.kind} with these parameters"
            )
        await entry.run(self._rt, ctx)


def registered_body(rt: Runtime) -> RegisteredBody:
    return RegisteredBody(rt)
