"""A used login link in a signed-in browser, /logout, and an access log without login codes (issue 20)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import uvicorn

from domain.accounts.tokens import create_login_code
from domain.accounts.users import Role, create_user
from graph.access_log import ACCESS_LOGGER, REDACTED, uvicorn_log_config
from graph.app import create_app
from graph.auth import SESSION_COOKIE
from tests.conftest import gql, http_client


async def _code(runtime, name: str = "browser") -> str:
    user = await create_user(runtime, name, Role.ANNOTATOR)
    return await create_login_code(runtime, user.id)


async def test_a_used_link_in_a_signed_in_browser_goes_to_graphiql(app, runtime):
    code = await _code(runtime)
    async with http_client(app) as browser:
        first = await browser.get(f"/login?code={code}")
        assert first.status_code == 303 and SESSION_COOKIE in browser.cookies
        again = await browser.get(f"/login?code={code}")
        assert again.status_code == 303 and again.headers["location"] == "/graphql"
        assert (await gql(browser, "{ viewer { name } }"))["data"]["viewer"]["name"] == "browser"


async def test_a_used_link_without_a_session_explains_how_to_get_one(app, runtime):
    code = await _code(runtime)
    async with http_client(app) as first:
        assert (await first.get(f"/login?code={code}")).status_code == 303
    async with http_client(app) as other:
        page = await other.get(f"/login?code={code}")
        assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
        assert "used already" in page.text and "<code>annograph login</code>" in page.text
        assert SESSION_COOKIE not in other.cookies
        # A stale cookie is no session either: the page, not a redirect.
        other.cookies.set(SESSION_COOKIE, "ag_stale")
        stale = await other.get(f"/login?code={code}")
        assert stale.status_code == 401 and "annograph login" in stale.text


async def test_logout_ends_the_session_and_clears_the_cookie(app, runtime):
    code = await _code(runtime)
    async with http_client(app) as browser:
        await browser.get(f"/login?code={code}")
        session = browser.cookies[SESSION_COOKIE]
        out = await browser.get("/logout")
        assert out.status_code == 200 and "Signed out" in out.text and "annograph login" in out.text
        cleared = out.headers["set-cookie"].lower()
        assert cleared.startswith(f"{SESSION_COOKIE}=") and "max-age=0" in cleared
        assert SESSION_COOKIE not in browser.cookies
        assert (await gql(browser, "{ viewer { name } }"))["data"]["viewer"] is None
    # A copy of the cookie kept elsewhere no longer counts: the session was revoked on the server.
    async with http_client(app) as copy:
        copy.cookies.set(SESSION_COOKIE, session)
        assert (await gql(copy, "{ viewer { name } }"))["data"]["viewer"] is None
        # Signing out without a session (or twice) is the same page.
        assert (await copy.post("/logout")).status_code == 200


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_access_log_does_not_print_the_login_code(runtime, capfd):
    """`annograph serve`'s uvicorn logging configuration (graph.access_log), under a real uvicorn."""
    code = await _code(runtime)
    config = uvicorn.Config(
        create_app(runtime=runtime),
        host="127.0.0.1",
        port=0,
        log_config=uvicorn_log_config(),
        log_level="info",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    lines = _Lines()
    logging.getLogger(ACCESS_LOGGER).addHandler(lines)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
            response = await browser.get(f"/login?code={code}")
            assert response.status_code == 303
    finally:
        server.should_exit = True
        await task
        logging.getLogger(ACCESS_LOGGER).removeHandler(lines)
    (line,) = [x for x in lines.lines if "/login" in x]
    assert f"/login?code={REDACTED}" in line and '" 303' in line
    assert code not in line and code[3:] not in line
    # What uvicorn's own handler wrote to the terminal: the line, without the code.
    printed = capfd.readouterr().out  # uvicorn's access handler writes to stdout
    assert f"GET /login?code={REDACTED} HTTP/1.1" in printed and code not in printed
