"""Live sessions through real graphql-transport-ws clients (gql) against a real uvicorn server."""

from __future__ import annotations

import asyncio

import pytest
from gql import gql as document

from domain.annotations import sessions as annotation_sessions
from domain.core.episode_events import EventKind, episode_channel
from tests.conftest import make_user, register
from tests.graph.annotations.test_episode_annotations import SAVE, payload
from tests.graph.live import Collector, serving, ws_client

EVENT_FIELDS = """__typename
  ... on ParticipantJoined { participant { user { name } present } session { status } }
  ... on ParticipantLeft { reason participant { user { name } present } }
  ... on ParticipantMoved { frame participant { currentFrame user { name } } }
  ... on EpisodeAnnotationSaved { version by { name } annotation { version notes annotator { name } } }
  ... on EpisodeAnnotationDeleted { version annotator { name } by { name } }
  ... on SessionStatusChanged { status by { name } }"""
SESSION_EVENTS = f"subscription($id: ID!) {{ annotationSessionEvents(sessionId: $id) {{ {EVENT_FIELDS} }} }}"
EPISODE_EVENTS = f"subscription($id: ID!) {{ episodeEvents(episodeId: $id) {{ {EVENT_FIELDS} }} }}"


def kind(name: str, **fields):
    def match(event: dict) -> bool:
        body = next(iter(event.values()))
        return body["__typename"] == name and all(
            body.get(k) == v if not callable(v) else v(body) for k, v in fields.items()
        )

    return match


@pytest.fixture
async def setup(runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    tokens = {
        name: await make_user(runtime, name, role)
        for name, role in (("alice", "ANNOTATOR"), ("bob", "ANNOTATOR"), ("vera", "VIEWER"))
    }
    async with serving(runtime) as address:
        async with ws_client(address, tokens["alice"]) as alice:
            result = await alice.execute(
                document("{ datasets { edges { node { episode(index: 1) { id } } } } }")
            )
            episode_id = result["datasets"]["edges"][0]["node"]["episode"]["id"]
            yield address, tokens, episode_id


async def test_a_session_streams_every_kind_of_event(setup):
    address, tokens, episode_id = setup
    async with (
        ws_client(address, tokens["alice"]) as alice,
        ws_client(address, tokens["bob"]) as bob,
        ws_client(address, tokens["vera"]) as vera,
    ):
        started = await alice.execute(
            document(
                "mutation($e: ID!) { startAnnotationSession(episodeId: $e) { id status participants { user { name } } } }"
            ),
            variable_values={"e": episode_id},
        )
        session = started["startAnnotationSession"]
        assert session["status"] == "ACTIVE" and session["participants"][0]["user"]["name"] == "alice"
        watcher = Collector(vera, SESSION_EVENTS, {"id": session["id"]})  # a viewer may watch
        on_episode = Collector(vera, EPISODE_EVENTS, {"id": episode_id})
        await asyncio.sleep(0.2)

        await bob.execute(
            document("mutation($id: ID!) { joinAnnotationSession(id: $id) { id } }"),
            variable_values={"id": session["id"]},
        )
        await watcher.wait_for(
            kind("ParticipantJoined", participant=lambda b: b["participant"]["user"]["name"] == "bob")
        )

        await bob.execute(
            document("mutation($s: ID!) { moveCursor(sessionId: $s, frame: 17) { currentFrame } }"),
            variable_values={"s": session["id"]},
        )
        moved = await watcher.wait_for(kind("ParticipantMoved", frame=17))
        assert moved["annotationSessionEvents"]["participant"]["currentFrame"] == 17

        saved = await bob.execute(
            document(SAVE), variable_values={"input": payload(episode_id, notes="bob's view")}
        )
        assert saved["saveEpisodeAnnotation"]["version"] == 1
        for collector in (watcher, on_episode):
            event = await collector.wait_for(kind("EpisodeAnnotationSaved", version=1))
            body = next(iter(event.values()))
            assert body["by"]["name"] == "bob" and body["annotation"]["notes"] == "bob's view"
            assert body["annotation"]["version"] >= 1  # re-read after commit

        await bob.execute(
            document("mutation($e: ID!) { deleteEpisodeAnnotation(episodeId: $e) }"),
            variable_values={"e": episode_id},
        )
        await on_episode.wait_for(kind("EpisodeAnnotationDeleted", version=1))

        await alice.execute(
            document("mutation($id: ID!) { setAnnotationSessionStatus(id: $id, status: PAUSED) { status } }"),
            variable_values={"id": session["id"]},
        )
        await watcher.wait_for(kind("SessionStatusChanged", status="PAUSED"))
        with pytest.raises(Exception) as refused:  # bob is neither its creator nor a reviewer
            await bob.execute(
                document(
                    "mutation($id: ID!) { setAnnotationSessionStatus(id: $id, status: COMPLETED) { status } }"
                ),
                variable_values={"id": session["id"]},
            )
        assert "FORBIDDEN" in str(refused.value.errors if hasattr(refused.value, "errors") else refused.value)

        await bob.execute(
            document("mutation($id: ID!) { leaveAnnotationSession(id: $id) { id } }"),
            variable_values={"id": session["id"]},
        )
        left = await watcher.wait_for(kind("ParticipantLeft", reason="left"))
        assert left["annotationSessionEvents"]["participant"]["present"] is False
        await watcher.close()
        await on_episode.close()


async def test_a_vanished_participant_is_marked_gone(runtime, setup):
    address, tokens, episode_id = setup
    runtime.settings.presence_timeout = 0.6
    async with ws_client(address, tokens["alice"]) as alice:
        started = await alice.execute(
            document("mutation($e: ID!) { startAnnotationSession(episodeId: $e) { id } }"),
            variable_values={"e": episode_id},
        )
        session_id = started["startAnnotationSession"]["id"]
        watcher = Collector(alice, SESSION_EVENTS, {"id": session_id})  # keeps alice present
        async with ws_client(address, tokens["bob"]) as bob:
            await bob.execute(
                document("mutation($id: ID!) { joinAnnotationSession(id: $id) { id } }"),
                variable_values={"id": session_id},
            )
            bob_watch = Collector(bob, SESSION_EVENTS, {"id": session_id})
            await asyncio.sleep(1.0)  # bob's open subscription keeps him present past the timeout
            assert not any(kind("ParticipantLeft")(e) for e in watcher.events)
            await bob_watch.close()
        # Bob's connection is gone without leaving: after the timeout the sweeper marks him gone.
        gone = await watcher.wait_for(kind("ParticipantLeft", reason="timeout"), timeout=5)
        assert gone["annotationSessionEvents"]["participant"]["user"]["name"] == "bob"
        assert not any(
            kind("ParticipantLeft", participant=lambda b: b["participant"]["user"]["name"] == "alice")(e)
            for e in watcher.events
        )
        await watcher.close()
    assert await annotation_sessions.sweep(runtime) == 0  # nothing left to sweep twice


async def test_a_slow_subscriber_is_dropped_with_a_reason(runtime, setup, monkeypatch):
    address, tokens, episode_id = setup
    monkeypatch.setattr(runtime.events, "_queue_size", 2)
    from strawberry.relay import GlobalID

    raw_id = int(GlobalID.from_id(episode_id).node_id)
    async with ws_client(address, tokens["vera"]) as vera:
        watcher = Collector(vera, EPISODE_EVENTS, {"id": episode_id})
        await asyncio.sleep(0.2)
        # A burst the subscriber cannot drain between two reads.
        for version in range(1, 40):
            await runtime.events.publish(
                episode_channel(raw_id),
                {
                    "kind": EventKind.ANNOTATION_DELETED.value,
                    "episodeId": raw_id,
                    "annotationId": 1,
                    "annotatorId": 1,
                    "version": version,
                    "byUserId": 1,
                },
            )
        error = await watcher.wait_for_error()
        assert "LIMIT_EXCEEDED" in str(getattr(error, "errors", error)) or "subscribe again" in str(error)
        await watcher.close()
        # It may subscribe again.
        again = Collector(vera, EPISODE_EVENTS, {"id": episode_id})
        await asyncio.sleep(0.2)
        await runtime.events.publish(
            episode_channel(raw_id),
            {
                "kind": EventKind.ANNOTATION_DELETED.value,
                "episodeId": raw_id,
                "annotationId": 1,
                "annotatorId": 1,
                "version": 99,
                "byUserId": 1,
            },
        )
        await again.wait_for(kind("EpisodeAnnotationDeleted", version=99))
        await again.close()
