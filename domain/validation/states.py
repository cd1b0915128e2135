"""A test session's status, its allowed moves (the test session state machine) and its source.

CREATED -> RUNNING -> COMPLETED (a MODEL run that went through every frame), STOPPED (stopped by a
user or by a server stop, evaluated on the frames processed) or FAILED (the detector failed). The
three ends are final. Every status write goes through `check_move` and is guarded by `sources`.
"""

from __future__ import annotations

from enum import StrEnum

from domain.core.state_machine import Moves


class TestSource(StrEnum):
    MODEL = "MODEL"
    EXTERNAL = "EXTERNAL"


class TestStatus(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


ENDED = {TestStatus.COMPLETED, TestStatus.STOPPED, TestStatus.FAILED}

MOVES = Moves(
    TestStatus,
    {
        TestStatus.CREATED: frozenset({TestStatus.RUNNING}),
        TestStatus.RUNNING: frozenset({TestStatus.COMPLETED, TestStatus.STOPPED, TestStatus.FAILED}),
        TestStatus.COMPLETED: frozenset(),
        TestStatus.STOPPED: frozenset(),
        TestStatus.FAILED: frozenset(),
    },
)


def check_move(current: str, target: TestStatus, session_id: int, field: str = "id") -> TestStatus:
    """`target`, or CONFLICT naming `field` and the current status when the session may not move."""
    return MOVES.check_move(current, target, subject=f"test session {session_id}", field=field)


def sources(target: TestStatus) -> list[str]:
    """The statuses a session may move to `target` from: the guard of the status UPDATE."""
    return MOVES.sources(target)
