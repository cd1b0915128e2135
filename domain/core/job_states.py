"""A job's status and its allowed moves (the job state machine).

PENDING -> RUNNING -> COMPLETED, FAILED or CANCELLED. A pending job may also end without running:
CANCELLED when cancelled while it waits for its target, FAILED when the server stopped first (or its
start could not be written). A running job goes back to PENDING when the `annograph worker` running it
stops (SIGTERM/SIGINT) before it ends: the worker hands it back to the queue and another worker starts
it from the beginning (its work stores its outcome in one transaction at the end, so nothing half-done
stays). The three ends are final.
"""

from __future__ import annotations

from enum import StrEnum

from domain.core.state_machine import Moves


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}

MOVES = Moves(
    JobStatus,
    {
        JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
        # PENDING: handed back by a stopping worker (procrastinate queue), to run again elsewhere.
        JobStatus.RUNNING: frozenset(
            {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PENDING}
        ),
        JobStatus.COMPLETED: frozenset(),
        JobStatus.FAILED: frozenset(),
        JobStatus.CANCELLED: frozenset(),
    },
)


def check_move(current: str, target: JobStatus, job_id: int | None = None) -> JobStatus:
    """`target`, or CONFLICT when a `current` job may not move there."""
    return MOVES.check_move(current, target, subject=f"job {job_id}", field=None)
