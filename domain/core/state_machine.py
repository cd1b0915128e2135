"""A status and the moves allowed between its values: the one check every status write goes through.

Each state machine (`job_states`, `test_session_states`, `annotation_session_states`) is a leaf
module holding its enum and a `Moves` table; services call `check_move` before a write and guard
the write itself with `sources(target)` (an UPDATE ... WHERE status IN sources), so a row that moved
meanwhile is not moved again. Imports nothing from domain but errors, so anything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from domain.core.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class Moves(Generic[S]):
    """The allowed moves of one status: `table[current]` is where a `current` row may go."""

    def __init__(self, status: type[S], table: Mapping[S, frozenset[S]]) -> None:
        missing = set(status) - set(table)
        if missing:  # every state says where it may go, if only nowhere
            raise ValueError(f"{status.__name__}: no moves given for {sorted(missing)}")
        self.status = status
        self.table = dict(table)

    def allowed(self, current: str, target: str) -> bool:
        return self.status(target) in self.table[self.status(current)]

    def sources(self, target: S) -> list[str]:
        """The states a row may be in to move to `target` (declaration order), for a guarded UPDATE."""
        return [s.value for s in self.status if target in self.table[s]]

    def final(self, state: str) -> bool:
        return not self.table[self.status(state)]

    def check_move(self, current: str, target: S, *, subject: str, field: str | None = "id") -> S:
        """`target` when a `current` row may move there; else CONFLICT naming the current status (in
        the message and as `extensions.currentStatus`), e.g. "id: test session 4 is COMPLETED; it
        can become RUNNING only from CREATED"."""
        if self.allowed(current, target):
            return target
        froms = self.sources(target)
        allowed = f"only from {' or '.join(froms)}" if froms else "never (it is only a starting state)"
        prefix = f"{field}: " if field else ""
        raise Conflict(
            f"{prefix}{subject} is {current}; it can become {target.value} {allowed}",
            field=field,
            currentStatus=str(current),  # extensions.currentStatus: what the client should re-read
        )
