"""Latency from a committed annotation save to its receipt by 1, 10 and 100 `episodeEvents`
subscribers (graphql-transport-ws, one document, one viewer: they share one execution per event,
graph/core/shared_subscriptions.py), with the memory:// broadcaster (one server process) and with
Redis, against a bare Redis PUBLISH -> SUBSCRIBE hop, interleaved in one run.

    .venv/bin/python -m bench.live

ROUNDS rounds, each: 1, 10 and 100 subscribers in turn on each server, then a slice of the bare Redis
reference. One annotator saves sequentially; each save waits for its mutation response and then for
every subscriber to receive the event carrying its version before the next save starts. The primary
latency is receipt time minus the time the mutation's HTTP response arrived: the transaction
committed before the response was sent, so this is a lower bound of commit-to-receipt (the
server publishes just before it answers, so a subscriber may even get the event before the
response: small or negative values are possible). Receipt minus the time the mutation was sent
is the upper bound, printed beside it. p50 and p99 are over all (save, subscriber) pairs; "first
p50" is the median over saves of the earliest subscriber's receipt (the hop without the fan-out).
With Redis, the bench also PUBLISHes the server's own ANNOTATION_SAVED message on the server's
channel (ANNOGRAPH_EVENT_PREFIX=bench.live.) and times PUBLISH -> receipt: the same hop as the bare
reference plus the server's work (hub, one execution, the fan-out), without the mutation's HTTP and
commit noise; the 100 / 1 ratio is printed for both measures. The bare Redis reference is the time
from just before PUBLISH to the subscriber's receipt, ~100-byte messages, one publisher and one
subscriber connection. Clients and server share the machine.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import numpy as np
import redis.asyncio as aioredis
from strawberry.relay import GlobalID
from websockets.asyncio.client import connect

from bench.harness import Server, running_server
from domain.datasets.demo import DemoSpec

REDIS_URL = "redis://127.0.0.1:6379/6"
PREFIX = "bench.live."  # the servers' ANNOGRAPH_EVENT_PREFIX: Publisher writes on their channels
BROADCASTERS = ("memory://", REDIS_URL)
SUBSCRIBERS = (1, 10, 100)
ROUNDS = 3
SAVES = {1: 20, 10: 10, 100: 10}  # per round
REDIS_MESSAGES = 600  # in all, ROUNDS slices
WAIT = 10.0  # seconds to wait for one event on every subscriber before counting it lost

EPISODE = "{ datasets { edges { node { episode(index: 0) { id } } } } }"
CREATE_USER = "mutation($name: String!) { createUser(input: {name: $name, role: ANNOTATOR}) { id } }"
ISSUE_TOKEN = 'mutation($id: ID!) { issueApiToken(input: {userId: $id, name: "bench"}) { secret } }'
SAVE = "mutation($input: SaveEpisodeAnnotationInput!) { saveEpisodeAnnotation(input: $input) { id version } }"
EVENTS = """subscription($id: ID!) { episodeEvents(episodeId: $id) {
  __typename ... on EpisodeAnnotationSaved { version by { name } annotation { id notes } } } }"""


def graphql(url: str, token: str, query: str, **variables) -> dict:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


def create_annotator(server: Server, name: str) -> tuple[str, str]:
    """The new annotator's id and API token."""
    user_id = graphql(server.url, server.token, CREATE_USER, name=name)["createUser"]["id"]
    return user_id, graphql(server.url, server.token, ISSUE_TOKEN, id=user_id)["issueApiToken"]["secret"]


class Subscriber:
    """One websocket with one episodeEvents subscription; records when each saved version arrives."""

    def __init__(self, ws, author: str) -> None:
        self.ws = ws
        self.author = author
        self.received: dict[int, float] = {}
        self.arrived = asyncio.Event()
        self.problems: list[str] = []
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str, token: str, episode_id: str, author: str) -> Subscriber:
        ws = await connect(ws_url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=30)
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": EVENTS, "variables": {"id": episode_id}},
                }
            )
        )
        return cls(ws, author)

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                payload = message["payload"]
                event = (payload.get("data") or {}).get("episodeEvents") or {}
                if payload.get("errors"):
                    self.problems.append(str(payload["errors"]))
                elif (
                    event.get("__typename") == "EpisodeAnnotationSaved" and event["by"]["name"] == self.author
                ):
                    self.received.setdefault(event["version"], now)
                    self.arrived.set()
            elif kind in ("error", "complete"):
                self.problems.append(f"{kind}: {message.get('payload')}")

    async def wait_for(self, version: int, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while version not in self.received:
            self.arrived.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                return version in self.received
        return True

    async def close(self) -> None:
        self.task.cancel()
        await self.ws.close()


class Saver:
    """One annotator saving their annotation of the episode again and again."""

    def __init__(self, client: httpx.AsyncClient, episode_id: str) -> None:
        self.client = client
        self.episode_id = episode_id
        self.version: int | None = None
        self.annotation_id: str | None = None

    async def save(self) -> tuple[int, float, float]:
        """Save once; the new version, the send time and the response time."""
        variables = {
            "input": {
                "episodeId": self.episode_id,
                "taskCompleteness": {"rating": "SUCCESS"},
                "notes": f"save {(self.version or 0) + 1}",
                **({"expectedVersion": self.version} if self.version is not None else {}),
            }
        }
        sent = time.perf_counter()
        response = await self.client.post("/graphql", json={"query": SAVE, "variables": variables})
        answered = time.perf_counter()
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        self.version = body["data"]["saveEpisodeAnnotation"]["version"]
        self.annotation_id = body["data"]["saveEpisodeAnnotation"]["id"]
        return self.version, sent, answered


class Publisher:
    """PUBLISHes the server's own ANNOTATION_SAVED message for the saver's annotation straight on Redis
    (the channel the server listens on: its event prefix + episode.<id>), with versions of its own."""

    def __init__(self, episode_id: str, author_id: str) -> None:
        self.redis = aioredis.from_url(REDIS_URL)
        self.episode = int(GlobalID.from_id(episode_id).node_id)
        self.user = int(GlobalID.from_id(author_id).node_id)
        self.channel = f"{PREFIX}episode.{self.episode}"
        self.version = 1_000_000

    async def publish(self, annotation_id: str) -> tuple[int, float]:
        """Publish once; the version it carries and the time just before PUBLISH."""
        self.version += 1
        message = {
            "kind": "ANNOTATION_SAVED",
            "episodeId": self.episode,
            "annotationId": int(GlobalID.from_id(annotation_id).node_id),
            "annotatorId": self.user,
            "version": self.version,
            "byUserId": self.user,
        }
        text = json.dumps(message)
        sent = time.perf_counter()
        await self.redis.publish(self.channel, text)
        return self.version, sent


async def measure(
    server: Server,
    episode_id: str,
    author: str,
    saver: Saver,
    n: int,
    saves: int,
    publisher: Publisher | None,
) -> dict:
    """Raw samples (s) of `saves` saves to `n` subscribers: receipt - response, receipt - send, the
    earliest receipt per save; with a `publisher`, receipt - PUBLISH of as many messages sent straight
    on Redis; lost receipts and the subscribers' problems."""
    ws_url = server.url.replace("http://", "ws://") + "/graphql"
    subscribers = []
    try:
        for start in range(0, n, 20):  # open in batches: a burst of 100 handshakes is not the point
            subscribers += await asyncio.gather(
                *(
                    Subscriber.open(ws_url, server.token, episode_id, author)
                    for _ in range(start, min(n, start + 20))
                )
            )
        await asyncio.sleep(0.5)
        # A warm-up save every subscriber must see: then all are subscribed.
        version, _, _ = await saver.save()
        ready = await asyncio.gather(*(s.wait_for(version, WAIT) for s in subscribers))
        if not all(ready):
            raise RuntimeError(f"{ready.count(False)} of {n} subscribers never saw the warm-up save")
        after_response, after_send, first, lost = [], [], [], 0
        for _ in range(saves):
            version, sent, answered = await saver.save()
            await asyncio.gather(*(s.wait_for(version, WAIT) for s in subscribers))
            times = [s.received[version] for s in subscribers if version in s.received]
            lost += n - len(times)
            after_response += [t - answered for t in times]
            after_send += [t - sent for t in times]
            if times:
                first.append(min(times) - answered)
        after_publish = []
        for _ in range(saves if publisher is not None else 0):
            assert publisher is not None and saver.annotation_id is not None
            version, sent = await publisher.publish(saver.annotation_id)
            await asyncio.gather(*(s.wait_for(version, WAIT) for s in subscribers))
            times = [s.received[version] for s in subscribers if version in s.received]
            lost += n - len(times)
            after_publish += [t - sent for t in times]
        problems = [p for s in subscribers for p in s.problems]
        return {
            "after_publish": after_publish,
            "after_response": after_response,
            "after_send": after_send,
            "first": first,
            "lost": lost,
            "problems": problems,
        }
    finally:
        await asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True)


def summary(samples: list[dict]) -> dict:
    """Percentiles (ms) over the rounds' samples of one subscriber count."""
    after_response = [x for r in samples for x in r["after_response"]]
    after_send = [x for r in samples for x in r["after_send"]]
    first = [x for r in samples for x in r["first"]]
    return {
        "p50": np.percentile(after_response, 50) * 1000,
        "p99": np.percentile(after_response, 99) * 1000,
        "send_p50": np.percentile(after_send, 50) * 1000,
        "send_p99": np.percentile(after_send, 99) * 1000,
        "first_p50": np.percentile(first, 50) * 1000,
        "min": min(after_response) * 1000,
        "publish": [x for r in samples for x in r["after_publish"]],
        "pairs": len(after_response),
        "saves": len(first),
        "lost": sum(r["lost"] for r in samples),
        "problems": [p for r in samples for p in r["problems"]],
    }


async def measure_server(server: Server, reference: list[float]) -> dict[int, dict]:
    """ROUNDS rounds of: every subscriber count in turn, then a slice of the bare Redis reference
    (its samples go into `reference`): the figures compared are measured interleaved."""
    episode_id = graphql(server.url, server.token, EPISODE)["datasets"]["edges"][0]["node"]["episode"]["id"]
    author = "live-saver"
    author_id, token = create_annotator(server, author)
    samples: dict[int, list[dict]] = {n: [] for n in SUBSCRIBERS}
    redis = server.env["ANNOGRAPH_BROADCAST_URL"].startswith("redis")
    publisher = Publisher(episode_id, author_id) if redis else None
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        saver = Saver(client, episode_id)
        for _ in range(ROUNDS):
            for n in SUBSCRIBERS:
                samples[n].append(await measure(server, episode_id, author, saver, n, SAVES[n], publisher))
            reference += await redis_reference(REDIS_MESSAGES // ROUNDS)
    if publisher is not None:
        await publisher.redis.aclose()
    return {n: summary(rounds) for n, rounds in samples.items()}


async def redis_reference(messages: int) -> list[float]:
    """`messages` samples (s) from just before PUBLISH to receipt on a separate SUBSCRIBE connection."""
    subscriber = aioredis.from_url(REDIS_URL)
    publisher = aioredis.from_url(REDIS_URL)
    pubsub = subscriber.pubsub()
    channel = "bench.live.reference"
    await pubsub.subscribe(channel)
    while (await pubsub.get_message(timeout=1.0)) is None:  # the subscribe confirmation
        pass
    received: dict[int, float] = {}
    arrived = asyncio.Event()

    async def read() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                received[int(message["data"][:8])] = time.perf_counter()
                arrived.set()

    reader = asyncio.create_task(read())
    samples = []
    try:
        for i in range(messages + 20):
            arrived.clear()
            payload = f"{i:08d}".ljust(100, "x")
            sent = time.perf_counter()
            await publisher.publish(channel, payload)
            while i not in received:
                await asyncio.wait_for(arrived.wait(), 5)
                arrived.clear()
            if i >= 20:  # the first messages warm up both connections
                samples.append(received[i] - sent)
    finally:
        reader.cancel()
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()
        await subscriber.aclose()
        await publisher.aclose()
    return samples


def main() -> None:
    spec = DemoSpec(episodes=1, min_length=60, max_length=60, width=64, height=48)
    reference: list[float] = []
    results = {}
    for url in BROADCASTERS:
        with running_server(spec, ANNOGRAPH_BROADCAST_URL=url, ANNOGRAPH_EVENT_PREFIX=PREFIX) as server:
            results[url] = asyncio.run(measure_server(server, reference))
    bare_p50 = np.percentile(reference, 50) * 1000
    bare_p99 = np.percentile(reference, 99) * 1000
    print("save -> episodeEvents receipt, ms; primary: receipt - mutation response (send -> receipt beside)")
    print(f"{ROUNDS} rounds, each: 1, 10, 100 subscribers, then a slice of the bare Redis reference")
    print(
        f"bare Redis PUBLISH -> SUBSCRIBE, {len(reference)} x 100 B:"
        f" p50 {bare_p50:.3f} ms, p99 {bare_p99:.3f} ms"
    )
    print(
        f"  {'broadcaster':<12}{'subs':>5}{'saves':>6}{'p50':>8}{'p99':>8}"
        f"{'send p50':>10}{'send p99':>10}{'first p50':>11}{'p99/p50':>9}{'p50 / Redis p50':>17}"
    )
    problems = []
    for url, by_n in results.items():
        name = url.split(":")[0]
        for n, r in by_n.items():
            print(
                f"  {name:<12}{n:>5}{r['saves']:>6}{r['p50']:>8.2f}{r['p99']:>8.2f}"
                f"{r['send_p50']:>10.2f}{r['send_p99']:>10.2f}{r['first_p50']:>11.2f}"
                f"{r['p99'] / r['p50']:>8.1f}x{r['p50'] / bare_p50:>16.1f}x"
            )
            if r["lost"] or r["problems"]:
                problems.append(f"{name}, {n} subscribers: {r['lost']} lost, {r['problems'][:3]}")
            if r["min"] < 0:
                problems.append(
                    f"{name}, {n} subscribers: an event arrived {-r['min']:.2f} ms before its response"
                )
        for n, r in by_n.items():
            if r["publish"]:
                p50, p99 = (np.percentile(r["publish"], q) * 1000 for q in (50, 99))
                print(
                    f"  {name:<12}{n:>5} PUBLISH on Redis -> receipt ({len(r['publish'])} pairs):"
                    f" p50 {p50:.2f} ms, p99 {p99:.2f} ms, {p99 / p50:.1f}x;"
                    f" vs bare Redis p50 {p50 / bare_p50:.1f}x"
                )
        one, many = by_n[SUBSCRIBERS[0]], by_n[SUBSCRIBERS[-1]]
        if one["publish"]:
            p50_one, p50_many = (np.percentile(r["publish"], 50) for r in (one, many))
            p99_many = np.percentile(many["publish"], 99)
            print(
                f"  {name}: PUBLISH -> receipt p50 with {SUBSCRIBERS[-1]} subscribers"
                f" / with {SUBSCRIBERS[0]}:"
                f" {p50_many / p50_one:.2f}x (target <= 2x); p99 / p50 with {SUBSCRIBERS[-1]}:"
                f" {p99_many / p50_many:.2f}x (target <= 5x)"
            )
        print(
            f"  {name}: p50 with {SUBSCRIBERS[-1]} subscribers / p50 with {SUBSCRIBERS[0]}:"
            f" {many['p50'] / one['p50']:.2f}x (target <= 2x); p99 / p50 with {SUBSCRIBERS[-1]}:"
            f" {many['p99'] / many['p50']:.2f}x (target <= 5x)"
        )
    for line in problems:
        print(f"  note: {line}")


if __name__ == "__main__":
    main()
