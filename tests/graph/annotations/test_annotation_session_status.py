"""setAnnotationSessionStatus follows the annotation session state machine: pause, resume, complete;
a completed session is final, and a move it cannot make is CONFLICT naming its current status."""

from __future__ import annotations

from tests.conftest import gql, register
from tests.graph.objects_setup import labelled_dataset

START = "mutation($id: ID!) { startAnnotationSession(episodeId: $id) { id status } }"
SET = "mutation($id: ID!, $s: SessionStatus!) { setAnnotationSessionStatus(id: $id, status: $s) { status } }"
READ = "query($id: ID!) { node(id: $id) { ... on AnnotationSession { status } } }"


async def test_a_session_pauses_resumes_and_completes_once(runtime, client, tiny_dataset):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    started = (await gql(client, START, id=episodes[0]))["data"]["startAnnotationSession"]
    assert started["status"] == "ACTIVE"
    session = started["id"]

    async def move(status: str) -> dict:
        return await gql(client, SET, id=session, s=status)

    assert (await move("PAUSED"))["data"]["setAnnotationSessionStatus"] == {"status": "PAUSED"}
    twice = await move("PAUSED")  # each status change event is a real change
    assert twice["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "id", "currentStatus": "PAUSED"}
    assert (await move("ACTIVE"))["data"]["setAnnotationSessionStatus"] == {"status": "ACTIVE"}
    assert (await move("COMPLETED"))["data"]["setAnnotationSessionStatus"] == {"status": "COMPLETED"}
    for status in ("ACTIVE", "PAUSED", "COMPLETED"):
        refused = await move(status)
        error = refused["errors"][0]
        assert error["extensions"] == {"code": "CONFLICT", "field": "id", "currentStatus": "COMPLETED"}, (
            refused
        )
        assert "is COMPLETED" in error["message"], error
    assert (await gql(client, READ, id=session))["data"]["node"] == {"status": "COMPLETED"}
