"""Subscribers that would get the same answer share one execution (graph/core/shared_subscriptions.py):
real graphql-transport-ws clients against a real uvicorn server, on the memory, Redis and PostgreSQL
broadcasters, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import pytest
from gql import gql as document
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import graph.core.episode_subscriptions as episode_subscriptions
from persistence.events import EventHub
from tests.conftest import PG_URL, make_user, register
from tests.graph.annotations.test_episode_annotations import SAVE, payload
from tests.graph.live import Collector, serving, ws_client

BROADCASTS = {
    "memory": None,  # the runtime's own (memory://)
    "redis": "redis://127.0.0.1:6379/5",
    "postgres": PG_URL.replace("postgresql+asyncpg", "postgres"),
}
EVENTS = """subscription($id: ID!) { episodeEvents(episodeId: $id) {
  __typename ... on EpisodeAnnotationSaved { version by { name } annotation { notes } } } }"""
# `tokens` is per viewer: the user themself (and admins) see them, anyone else gets null and FORBIDDEN.
WITH_TOKENS = EVENTS.replace("by { name }", "by { name tokens { name } }")
EPISODE_IDS = "{ datasets { edges { node { episodes(first: 2) { edges { node { id } } } } } } }"


@pytest.fixture(params=list(BROADCASTS))
async def served(request, runtime, tiny_dataset, monkeypatch):
    """The server (on the broadcaster of the param), tokens by name, two episode ids, and a list that
    records every event the subscriptions build (one entry per execution per event)."""
    url = BROADCASTS[request.param]
    if url is not None:
        hub = EventHub(url, prefix=f"test.{uuid.uuid4().hex}.")
        await hub.connect()
        monkeypatch.setattr(runtime, "events", hub)
    built: list[dict] = []
    real = episode_subscriptions.build_event

    async def counting(info, message):
        built.append(message)
        return await real(info, message)

    monkeypatch.setattr(episode_subscriptions, "build_event", counting)
    await register(runtime, tiny_dataset)
    tokens = {
        name: await make_user(runtime, name, role)
        for name, role in (("alice", "ANNOTATOR"), ("bob", "ANNOTATOR"), ("vera", "VIEWER"))
    }
    try:
        async with serving(runtime) as address:
            async with ws_client(address, tokens["alice"]) as alice:
                found = await alice.execute(document(EPISODE_IDS))
            edges = found["datasets"]["edges"][0]["node"]["episodes"]["edges"]
            yield address, tokens, [e["node"]["id"] for e in edges], built
    finally:
        if url is not None:
            await hub.disconnect()


async def save(session, episode_id: str, notes: str, version: int | None = None) -> int:
    extra = {"expectedVersion": version} if version is not None else {}
    done = await session.execute(
        document(SAVE), variable_values={"input": payload(episode_id, notes=notes, **extra)}
    )
    return done["saveEpisodeAnnotation"]["version"]


async def until_all_hear(collectors, act, tries: int = 20) -> None:
    """Save through `act(attempt)` until every collector has the event of that save: the protocol
    does not say when a subscription is live on the server."""
    for attempt in range(1, tries + 1):
        notes = await act(attempt)
        try:
            for collector in collectors:
                await collector.wait_for(lambda e, n=notes: saved(e, n), timeout=1.0)
            return
        except TimeoutError:
            continue
    raise AssertionError("the subscriptions heard nothing")


def saved(event: dict, notes: str) -> bool:
    body = event["episodeEvents"]
    return body["__typename"] == "EpisodeAnnotationSaved" and body["annotation"]["notes"] == notes


class RawSubscriber:
    """One websocket, one subscription, keeping the raw text of every `next` frame."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, address: str, token: str, episode_id: str, query: str = EVENTS) -> RawSubscriber:
        ws = await connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"])
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        message = {
            "id": "s",
            "type": "subscribe",
            "payload": {"query": query, "variables": {"id": episode_id}},
        }
        await ws.send(json.dumps(message))
        return cls(ws)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                if json.loads(raw)["type"] == "next":
                    self.frames.append(raw)

    async def wait_for(self, notes: str, timeout: float = 10.0) -> dict:
        """The payload (data and errors) of the save with these notes."""
        async with asyncio.timeout(timeout):
            while True:
                for raw in self.frames:
                    found = json.loads(raw)["payload"]
                    if saved(found["data"] or {"episodeEvents": {"__typename": ""}}, notes):
                        return found
                await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.task.cancel()
        await self.ws.close()


async def test_subscribers_of_one_document_share_one_execution_and_its_bytes(served):
    address, tokens, (episode, _), built = served
    async with ws_client(address, tokens["bob"]) as bob, ws_client(address, tokens["alice"]) as alice:
        raw = [await RawSubscriber.open(address, tokens["alice"], episode) for _ in range(3)]
        on_alice = Collector(alice, EVENTS, {"id": episode})
        version: list[int] = []

        async def act(attempt: int) -> str:
            notes = f"probe {attempt}"
            version.append(await save(bob, episode, notes, version[-1] if version else None))
            return notes

        await until_all_hear([on_alice], act)
        for _ in range(50):  # the raw sockets heard the probe too
            if all(any('"probe' in f for f in r.frames) for r in raw):
                break
            await asyncio.sleep(0.05)
        before = len(built)
        for r in raw:
            r.frames.clear()
        await save(bob, episode, "shared", version[-1])
        event = await on_alice.wait_for(lambda e: saved(e, "shared"))
        for _ in range(100):
            if all(r.frames for r in raw):
                break
            await asyncio.sleep(0.05)
        # Four subscribers, one viewer, one document: executed once for the event.
        assert len(built) - before == 1
        assert len({r.frames[0] for r in raw}) == 1  # the very same text on every socket
        body = json.loads(raw[0].frames[0])["payload"]["data"]["episodeEvents"]
        assert body == event["episodeEvents"]
        assert body["by"]["name"] == "bob" and body["annotation"]["notes"] == "shared"
        assert body["version"] == version[-1] + 1
        for r in raw:
            await r.close()
        await on_alice.close()


async def test_other_variables_and_other_viewers_get_their_own_answers(served):
    address, tokens, (first, second), built = served
    async with ws_client(address, tokens["bob"]) as bob, ws_client(address, tokens["alice"]) as alice:
        viewers = {
            name: await RawSubscriber.open(address, tokens[name], first, WITH_TOKENS)
            for name in ("bob", "alice", "vera")
        }
        alice_second = Collector(alice, EVENTS, {"id": second})
        versions: dict[str, int] = {}
        for attempt in range(1, 21):  # until every subscription is live on the server
            notes = f"probe {attempt}"
            versions[first] = await save(bob, first, notes, versions.get(first))
            try:
                for subscriber in viewers.values():
                    await subscriber.wait_for(notes, timeout=1.0)
                break
            except TimeoutError:
                continue

        async def act(attempt: int) -> str:
            notes = f"probe second {attempt}"
            versions[second] = await save(bob, second, notes, versions.get(second))
            return notes

        await until_all_hear([alice_second], act)

        before = len(built)
        versions[first] = await save(bob, first, "one", versions[first])
        answers = {name: await s.wait_for("one") for name, s in viewers.items()}
        assert len(built) - before == 3  # one execution per viewer
        # `tokens` is the saver's own: bob sees his; the others get null and FORBIDDEN, never bob's.
        assert [t["name"] for t in answers["bob"]["data"]["episodeEvents"]["by"]["tokens"]] == ["tests"]
        assert "errors" not in answers["bob"]
        for name in ("alice", "vera"):
            assert answers[name]["data"]["episodeEvents"]["by"] == {"name": "bob", "tokens": None}
            assert answers[name]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # The other episode's subscription did not hear it; it hears its own episode.
        assert not any(saved(e, "one") for e in alice_second.events)
        await save(bob, second, "two", versions[second])
        event = await alice_second.wait_for(lambda e: saved(e, "two"))
        assert event["episodeEvents"]["by"]["name"] == "bob"
        assert not any("two" in f for s in viewers.values() for f in s.frames)
        for subscriber in viewers.values():
            await subscriber.close()
        await alice_second.close()


async def test_a_subscriber_leaving_does_not_stop_the_others(served):
    address, tokens, (episode, _), built = served
    async with ws_client(address, tokens["bob"]) as bob, ws_client(address, tokens["alice"]) as alice:
        staying = Collector(alice, EVENTS, {"id": episode})
        leaving = Collector(alice, EVENTS, {"id": episode})
        version: list[int] = []

        async def act(attempt: int) -> str:
            notes = f"probe {attempt}"
            version.append(await save(bob, episode, notes, version[-1] if version else None))
            return notes

        await until_all_hear([staying, leaving], act)
        await leaving.close()
        raw = await RawSubscriber.open(address, tokens["alice"], episode)  # a whole socket goes too
        await raw.close()
        await asyncio.sleep(0.1)
        await save(bob, episode, "after", version[-1])
        event = await staying.wait_for(lambda e: saved(e, "after"))
        assert event["episodeEvents"]["version"] == version[-1] + 1
        assert not any(saved(e, "after") for e in leaving.events)
        await staying.close()
    # Everyone gone: the execution stopped (a new save is built by nobody).
    await asyncio.sleep(0.2)
    before = len(built)
    async with ws_client(address, tokens["bob"]) as bob:
        await save(bob, episode, "unheard", version[-1] + 1)
    await asyncio.sleep(0.2)
    assert len(built) == before


def test_only_live_event_subscriptions_are_shared_and_spacing_does_not_split_them():
    from graph.core.shared_subscriptions import _shareable

    one = _shareable(EVENTS, None)
    assert one is not None
    assert _shareable("# a comment\n" + EVENTS.replace("\n", "\n\n   "), None) == one
    assert _shareable("subscription { jobUpdates { id } }", None) is None  # a snapshot at subscribe
    assert _shareable("query { viewer { name } }", None) is None
    assert _shareable("subscription { episodeEvents(episodeId: 1) { ", None) is None  # does not parse
    spread = "subscription { ...episodeEvents } fragment episodeEvents on Subscription { jobUpdates { id } }"
    assert _shareable(spread, None) is None
    two = "subscription A { episodeEvents(episodeId: 1) { __typename } } query B { viewer { name } }"
    assert _shareable(two, "A") is not None and _shareable(two, "B") is None and _shareable(two, None) is None
