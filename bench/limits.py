"""How long refusing a hostile query takes, against parsing it: the 40-level fragment fan-out (2^40
paths in 1.5 KB) and `nodes(ids:)` with 2,000 ids asking `trajectory`, each sent anonymously to a real
server (limits on) and refused with LIMIT_EXCEEDED, beside graphql-core parsing the same document in
this process. Also /health's answer time while refusals run, and the server's peak memory while it
refuses a 1.9 MB zip bomb (3.8 GB unpacked) uploaded to importAnnotations, against the zip's size.

    .venv/bin/python -m bench.limits
"""

from __future__ import annotations

import io
import json
import os
import statistics
import threading
import time
import zipfile

import httpx
from graphql import parse

from bench.harness import running_server
from domain.datasets.demo import DemoSpec

REPEAT = 30


def fan_out(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"{{ viewer {{ ...F0 }} }} {fragments} fragment F{levels} on User {{ name }}"


def many_ids(episode: str, count: int) -> str:
    ids = ", ".join(json.dumps(episode) for _ in range(count))
    return f"{{ nodes(ids: [{ids}]) {{ ... on Episode {{ trajectory {{ frames }} }} }} }}"


def median_ms(fn, repeat: int = REPEAT) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def zip_bomb(client: httpx.Client, headers: dict, pid: int) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("annotations.json", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 24)
            for _ in range(228):  # 3.8 GB of zeros
                member.write(block)
    bomb = out.getvalue()
    body = client.post("/graphql", headers=headers, json={"query": "{ datasets { edges { node { id } } } }"})
    dataset = body.json()["data"]["datasets"]["edges"][0]["node"]["id"]
    query = """mutation($input: ImportAnnotationsInput!) { importAnnotations(input: $input) { boxes } }"""
    variables = {"input": {"datasetId": dataset, "file": None, "format": "COCO"}}
    operations = {"query": query, "variables": variables}
    before = _memory(pid)
    answer = client.post(
        "/graphql",
        headers=headers,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": ("bomb.zip", bomb, "application/zip")},
    ).json()
    after = _memory(pid)
    code = answer["errors"][0]["extensions"]
    mib = 1 << 20
    print(
        f"zip bomb {len(bomb) / mib:.1f} MiB (unpacks to {228 * 16 / 1024:.1f} GiB): {code['code']} "
        f"({code.get('limit')}); server RSS {before['VmRSS'] / mib:.0f} -> {after['VmRSS'] / mib:.0f} MiB, "
        f"peak {after['VmHWM'] / mib:.0f} MiB; growth / zip size "
        f"{(after['VmHWM'] - before['VmRSS']) / len(bomb):.1f}x"
    )


def main() -> None:
    print(f"bench.limits: {os.cpu_count()} cores; repeat with: .venv/bin/python -m bench.limits")
    with running_server(DemoSpec(episodes=1, min_length=60, max_length=60, width=64, height=48)) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, timeout=120) as client:
            found = client.post(
                "/graphql",
                headers=headers,
                json={"query": "{ datasets { edges { node { episode(index: 0) { id } } } } }"},
            ).json()
            episode = found["data"]["datasets"]["edges"][0]["node"]["episode"]["id"]
            cases = {
                "40-level fragment fan-out": fan_out(40),
                "nodes(ids:) x 2,000, trajectory": many_ids(episode, 2000),
            }
            print(f"{'document':36} {'bytes':>8} {'parse ms':>9} {'refuse ms':>10} {'ratio':>7}  answer")
            counter = iter(range(10**9))
            for name, query in cases.items():

                def refuse(query: str = query) -> dict:
                    # A comment makes each document new, so the server's parse cache never answers.
                    fresh = f"{query}\n# {next(counter)}"
                    return client.post("/graphql", json={"query": fresh}).json()

                answer = refuse()
                limit = answer["errors"][0]["extensions"].get("limit")
                parse_ms = median_ms(lambda query=query: parse(query))
                refuse_ms = median_ms(refuse)
                print(
                    f"{name:36} {len(query):>8} {parse_ms:>9.2f} {refuse_ms:>10.2f} "
                    f"{refuse_ms / parse_ms:>6.1f}x  {answer['errors'][0]['extensions']['code']} ({limit})"
                )

            # /health while another client sends the fan-out back to back.
            stop = threading.Event()

            def attack() -> None:
                with httpx.Client(base_url=server.url, timeout=120) as attacker:
                    while not stop.is_set():
                        fresh = f"{fan_out(40)}\n# {time.perf_counter()}"
                        attacker.post("/graphql", json={"query": fresh})

            thread = threading.Thread(target=attack)
            thread.start()
            try:
                health = median_ms(lambda: client.get("/health").raise_for_status(), repeat=20)
            finally:
                stop.set()
                thread.join()
            print(f"/health during the fan-out attack: median {health:.1f} ms")
            zip_bomb(client, headers, server.pid)
    print("ratio = time to refuse over HTTP / time to parse in process (the refusal includes the round trip)")


if __name__ == "__main__":
    main()
