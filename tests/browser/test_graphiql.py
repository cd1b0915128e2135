"""GraphiQL in a real browser (Debian's headless chromium, driven by playwright), with every host but
127.0.0.1 blocked: the server is `annograph serve` in a subprocess on SQLite, the session comes
from `annograph login`'s link, and the README's first query and a `jobUpdates` subscription run
through GraphiQL's editor and Run button."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Page, Route, sync_playwright

from graph import graphiql
from tests.factories import write_dataset

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HANG_GUARD_MS = 30_000


def readme_first_query() -> str:
    """The ```graphql block under README.md's "A first query"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## A first query", 1)[1]
    return section.split("```graphql", 1)[1].split("```", 1)[0].strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict]:
    """`annograph serve` on a fresh SQLite database with one small dataset folder under its data root."""
    port = _free_port()
    var = tmp_path / "var"
    # One episode long enough for the README's `minLength: 300`, one shorter.
    dataset = write_dataset(var / "datasets" / "tiny", lengths=[320, 40], name="tiny")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOGRAPH_")}
    env.update(ANNOGRAPH_VAR_DIR=str(var), ANNOGRAPH_HOST="127.0.0.1", ANNOGRAPH_PORT=str(port))
    run = [sys.executable, "-m", "graph"]
    subprocess.run([*run, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([*run, "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # hang guard: the server answers /health well before
        while True:
            if process.poll() is not None:
                raise AssertionError((tmp_path / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            time.sleep(0.1)
        printed = subprocess.run(
            [*run, "login"], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120
        ).stdout
        link = re.search(r"http://\S+/login\?code=\S+", printed)
        assert link, printed
        yield {"base": base, "login": link.group(0), "dataset": dataset}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _run(page: Page, query: str, until: str) -> dict:
    """Type `query` into GraphiQL's editor, press Run, wait until the response pane holds `until`;
    the response as JSON."""
    page.evaluate(
        "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)", query
    )
    # GraphiQL parses the text a moment after a change (debounced); the Run button sends that parse
    # (it tells a subscription, sent over the WebSocket, from a query).
    page.wait_for_function(
        """q => {
            const ast = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.documentAST;
            return ast && ast.loc && ast.loc.source.body === q;
        }""",
        arg=query,
    )
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        """until => {
            const pane = document.querySelector('.graphiql-response .CodeMirror');
            return pane && pane.CodeMirror.getValue().includes(until);
        }""",
        arg=until,
    )
    text = page.evaluate("document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()")
    return json.loads(text)


def test_graphiql_offline_login_first_query_and_subscription(server: dict) -> None:
    assert shutil.which(CHROMIUM), "tests/browser needs Debian's chromium (`make test` installs it)"
    base = server["base"]
    left: list[str] = []  # requests for any host but the server's

    def only_local(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            context.set_default_timeout(HANG_GUARD_MS)
            context.route("**/*", only_local)
            page = context.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))

            # Without a session: GraphiQL loads and says how to sign in.
            page.goto(f"{base}/graphql")
            page.wait_for_selector(".graphiql-execute-button")
            banner = page.inner_text("#sign-in")
            assert "annograph login" in banner and "Authorization" in banner

            # The login link sets the cookie and lands on GraphiQL, without the banner.
            page.goto(server["login"])
            assert page.url == f"{base}/graphql"
            page.wait_for_selector(".graphiql-execute-button")
            assert page.locator("#sign-in").count() == 0 and page.locator("#signed-in button").count() == 1

            registered = _run(
                page,
                f'mutation {{ registerDataset(input: {{path: "{server["dataset"]}"}}) {{ id status }} }}',
                '"status"',
            )
            assert "errors" not in registered, registered
            job_id = registered["data"]["registerDataset"]["id"]

            # A subscription over graphql-transport-ws: the job's state comes first, until it ends.
            done = _run(
                page,
                f'subscription {{ jobUpdates(jobId: "{job_id}") {{ id status progress }} }}',
                "COMPLETED",
            )
            assert done["data"]["jobUpdates"] == {"id": job_id, "status": "COMPLETED", "progress": 1.0}
            assert sockets and all(urlparse(u).hostname == "127.0.0.1" for u in sockets), sockets

            first = _run(page, readme_first_query(), '"totalCount"')
            assert "errors" not in first, first
            datasets = first["data"]["datasets"]
            assert datasets["totalCount"] == 1
            node = datasets["edges"][0]["node"]
            assert node["name"] == "tiny" and node["cameras"] == ["front"] and node["episodeCount"] == 2
            episodes = node["episodes"]
            assert episodes["totalCount"] == 1  # only the 320-frame episode is >= 300
            episode = episodes["edges"][0]["node"]
            assert episode["length"] == 320 and episode["frameUrl"].startswith("/media/")
            assert len(episode["trajectory"]["timestamps"]) == 31  # frames 0 to 90 inclusive, stride 3

            # Sign out: the session ends, and GraphiQL says again how to sign in.
            page.click("#signed-in button")
            page.wait_for_selector("text=Signed out")
            page.goto(f"{base}/graphql")
            page.wait_for_selector(".graphiql-execute-button")
            assert page.locator("#sign-in").count() == 1 and page.locator("#signed-in").count() == 0
            anonymous = _run(page, "{ viewer { name } }", '"viewer"')
            assert anonymous["data"]["viewer"] is None, anonymous
        finally:
            browser.close()
    assert left == [], f"GraphiQL asked for other hosts: {left}"


def test_graphiql_file_failing_its_hash_is_a_readable_page(server: dict) -> None:
    """A served file that fails its integrity check (the browser refuses it) shows what to do."""
    base = server["base"]

    def altered(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body="/* altered */")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(HANG_GUARD_MS)
            page.route("**/graphiql-assets/graphiql.min.js*", altered)
            page.goto(f"{base}/graphql")
            page.wait_for_selector("#load-error")
            text = page.inner_text("#load-error")
            assert "graphiql.min.js" in text and "make graphiql-assets" in text
        finally:
            browser.close()


def test_missing_asset_is_a_500_page_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "graphiql"
    shutil.copytree(graphiql.ASSET_DIR, copy)
    (copy / "react-dom.production.min.js").unlink()
    monkeypatch.setattr(graphiql, "ASSET_DIR", copy)
    monkeypatch.setattr(graphiql, "MANIFEST", copy / "manifest.json")
    response = graphiql.page(signed_in=True)
    body = response.body.decode()
    assert response.status_code == 500
    assert "react-dom.production.min.js: missing" in body and "make graphiql-assets" in body


def test_page_names_only_local_files_with_their_hashes() -> None:
    body = graphiql.page(signed_in=True).body.decode()
    urls = [u for u in re.findall(r'(?:src|href)="([^"]+)"', body) if u != "data:,"]  # no favicon
    manifest = graphiql.manifest()
    assert len(urls) == len(manifest) and all(u.startswith("/graphiql-assets/") for u in urls), urls
    for asset in manifest:
        assert f'integrity="{asset.integrity}"' in body
    assert "://" not in body.replace('"data:,"', "")
