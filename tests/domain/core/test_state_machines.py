"""The three state machines: every allowed move, every forbidden one (CONFLICT naming the current
status), the guards the status UPDATEs use, and that no move table leaves a state out."""

from __future__ import annotations

from enum import StrEnum

import pytest

from domain.annotations import session_states as annotation_session_states
from domain.annotations.session_states import SessionStatus
from domain.core import job_states
from domain.core.errors import Conflict
from domain.core.job_states import JobStatus
from domain.core.state_machine import Moves
from domain.validation import states as test_session_states

# Not imported by its name: pytest would take a class named Test* for tests.
SessionTestStatus = test_session_states.TestStatus

JOB_MOVES = {
    ("PENDING", "RUNNING"),
    ("PENDING", "CANCELLED"),  # cancelled while it waits for its target
    ("PENDING", "FAILED"),  # the server stopped before it ran
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "FAILED"),
    ("RUNNING", "CANCELLED"),
    ("RUNNING", "PENDING"),  # handed back by a stopping worker, to run again on another
}
TEST_SESSION_MOVES = {
    ("CREATED", "RUNNING"),
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "STOPPED"),
    ("RUNNING", "FAILED"),
}
ANNOTATION_SESSION_MOVES = {
    ("ACTIVE", "PAUSED"),
    ("PAUSED", "ACTIVE"),
    ("ACTIVE", "COMPLETED"),
    ("PAUSED", "COMPLETED"),
}

MACHINES = [
    pytest.param(job_states, JobStatus, JOB_MOVES, id="job"),
    pytest.param(test_session_states, SessionTestStatus, TEST_SESSION_MOVES, id="test-session"),
    pytest.param(annotation_session_states, SessionStatus, ANNOTATION_SESSION_MOVES, id="annotation-session"),
]


def _check(module, current: str, target: StrEnum):
    return module.check_move(current, target, 7)


@pytest.mark.parametrize(("module", "status", "allowed"), MACHINES)
def test_the_allowed_moves_are_exactly_the_table(module, status, allowed):
    for current in status:
        for target in status:
            assert module.MOVES.allowed(current, target) == ((current.value, target.value) in allowed), (
                current,
                target,
            )


@pytest.mark.parametrize(("module", "status", "allowed"), MACHINES)
def test_an_allowed_move_returns_its_target(module, status, allowed):
    for current, target in allowed:
        assert _check(module, current, status(target)) is status(target)


@pytest.mark.parametrize(("module", "status", "allowed"), MACHINES)
def test_a_forbidden_move_is_a_conflict_naming_the_current_status(module, status, allowed):
    forbidden = [(c, t) for c in status for t in status if (c.value, t.value) not in allowed]
    assert forbidden
    for current, target in forbidden:
        with pytest.raises(Conflict) as refused:
            _check(module, current.value, target)
        assert refused.value.code == "CONFLICT"
        assert refused.value.details == {"currentStatus": current.value}
        assert f"is {current.value};" in refused.value.message
        assert f"become {target.value}" in refused.value.message


def test_the_message_says_where_a_move_may_start():
    with pytest.raises(Conflict) as refused:
        test_session_states.check_move("COMPLETED", SessionTestStatus.RUNNING, 4)
    assert refused.value.message == "id: test session 4 is COMPLETED; it can become RUNNING only from CREATED"
    assert refused.value.field == "id"
    with pytest.raises(Conflict) as reopened:
        annotation_session_states.check_move("COMPLETED", SessionStatus.ACTIVE, 3)
    assert reopened.value.message == "id: annotation session 3 is COMPLETED; it can become ACTIVE only from PAUSED"
    with pytest.raises(Conflict) as again:
        job_states.check_move("COMPLETED", JobStatus.PENDING, 9)
    assert again.value.message == "job 9 is COMPLETED; it can become PENDING only from RUNNING"
    assert again.value.field is None


@pytest.mark.parametrize(("module", "status", "allowed"), MACHINES)
def test_the_update_guard_is_every_state_a_move_starts_from(module, status, allowed):
    for target in status:
        assert module.MOVES.sources(target) == [c.value for c in status if (c.value, target.value) in allowed]


def test_the_ends_are_final():
    assert {s for s in JobStatus if job_states.MOVES.final(s)} == job_states.FINISHED
    assert {s for s in SessionTestStatus if test_session_states.MOVES.final(s)} == test_session_states.ENDED
    assert {s for s in SessionStatus if annotation_session_states.MOVES.final(s)} == {SessionStatus.COMPLETED}


def test_a_table_that_forgets_a_state_is_refused():
    with pytest.raises(ValueError, match="no moves given for"):
        Moves(SessionTestStatus, {SessionTestStatus.CREATED: frozenset({SessionTestStatus.RUNNING})})
