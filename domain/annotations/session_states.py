"""An annotation session's status and its allowed moves (the annotation session state machine).

ACTIVE <-> PAUSED (pause, resume), either -> COMPLETED, which is final: a completed session takes no
one in and is not reopened (start a new one). Setting the status a session already has is refused
too, so each SessionStatusChanged event is a real change.
"""

from __future__ import annotations

from enum import StrEnum

from domain.core.state_machine import Moves


class SessionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"


MOVES = Moves(
    SessionStatus,
    {
        SessionStatus.ACTIVE: frozenset({SessionStatus.PAUSED, SessionStatus.COMPLETED}),
        SessionStatus.PAUSED: frozenset({SessionStatus.ACTIVE, SessionStatus.COMPLETED}),
        SessionStatus.COMPLETED: frozenset(),
    },
)


def check_move(current: str, target: SessionStatus, session_id: int, field: str = "id") -> SessionStatus:
    """`target`, or CONFLICT naming `field` and the current status when the session may not move."""
    return MOVES.check_move(current, target, subject=f"annotation session {session_id}", field=field)


def sources(target: SessionStatus) -> list[str]:
    """The statuses a session may move to `target` from: the guard of the status UPDATE."""
    return MOVES.sources(target)
