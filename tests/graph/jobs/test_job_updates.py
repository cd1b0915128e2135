"""jobUpdates over a real WebSocket (graphql-transport-ws) against a running uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets
from strawberry.relay import GlobalID

from domain.core import job_runner as jobs
from tests.conftest import gql
from tests.factories import write_dataset
from tests.graph.live import serving

SUBSCRIBE = """subscription($jobId: ID, $datasetId: ID) { jobUpdates(jobId: $jobId, datasetId: $datasetId) {
  id status progress version } }"""


@pytest.fixture
async def server(runtime):
    async with serving(runtime) as address:
        yield address


async def _open(address: str, variables: dict, token: str):
    ws = await websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}})
    )
    return ws


async def _collect(ws, until_complete: bool = True, limit: int = 200) -> list[dict]:
    events = []
    async with asyncio.timeout(20):
        while len(events) < limit:
            message = json.loads(await ws.recv())
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            events.append(message["payload"]["data"]["jobUpdates"])
            if not until_complete and events[-1]["status"] in ("COMPLETED", "FAILED"):
                break
    return events


async def test_job_updates_follow_a_registration(server, runtime, data_root, monkeypatch, admin_token):
    # Every step's progress is written (the runner normally writes at most five a second).
    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL", 0.0)
    folder = write_dataset(data_root / "many", episodes=12, lengths=[12] * 12)
    import httpx

    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=f"http://{server}", headers=headers) as client:
        # A dataset-wide subscription opened before the job exists sees it from PENDING on.
        watcher = await _open(server, {}, admin_token)
        await asyncio.sleep(0.1)
        body = await gql(
            client,
            "mutation($p: String!) { registerDataset(input: {path: $p}) { id status } }",
            p=str(folder),
        )
        job_id = body["data"]["registerDataset"]["id"]
        # A subscription by job id starts with the current state and ends when the job ends.
        follower = await _open(server, {"jobId": job_id}, admin_token)
        followed = await _collect(follower)
        watched = await _collect(watcher, until_complete=False)
        await follower.close()
        await watcher.close()

    assert followed[-1]["status"] == "COMPLETED" and followed[-1]["progress"] == 1.0
    assert all(e["id"] == job_id for e in followed)
    progress = [e["progress"] for e in watched]
    # Each event carries the job as it is when read, so the first may already be RUNNING.
    assert watched[0]["status"] in ("PENDING", "RUNNING")
    assert progress == sorted(progress), progress
    assert watched[-1]["status"] == "COMPLETED"
    steps = [round(p * 12) for p in progress if 0 < p < 1]
    # Each event carries the job as read when delivered, so a late reader may skip a step.
    assert steps == sorted(steps) and len(set(steps)) >= 6, progress
    followed_steps = [round(e["progress"] * 12) for e in followed]
    assert followed_steps == sorted(followed_steps) and followed_steps[-1] == 12


async def test_job_updates_unknown_job(server, admin_token):
    from strawberry.relay import GlobalID

    ws = await _open(server, {"jobId": str(GlobalID("Job", "424242"))}, admin_token)
    async with asyncio.timeout(10):
        message = json.loads(await ws.recv())
    await ws.close()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def _closed_with(ws) -> int:
    async with asyncio.timeout(10):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    return ws.close_code


@pytest.mark.parametrize("payload", [{"Authorization": "Bearer ag_wrong"}, {}, {"token": 42}])
async def test_bad_or_missing_token_closes_with_4403(server, payload):
    ws = await websockets.connect(f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert await _closed_with(ws) == 4403


async def test_no_connection_init_closes_with_4408(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "ws_init_timeout", 0.3)
    async with serving(runtime) as address:
        ws = await websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"])
        assert await _closed_with(ws) == 4408


async def test_subscribe_before_init_is_refused(server):
    ws = await websockets.connect(f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    assert await _closed_with(ws) == 4401


async def test_cross_site_cookie_is_not_an_identity_on_websockets(server, runtime):
    from domain.accounts.tokens import create_login_code
    from domain.accounts.users import Role, create_user

    user = await create_user(runtime, "ws-browser", Role.ADMIN)
    code = await create_login_code(runtime, user.id)
    import httpx

    async with httpx.AsyncClient(base_url=f"http://{server}") as browser:
        response = await browser.get(f"/login?code={code}")
        session = response.cookies["annograph_session"]
    headers = {"Cookie": f"annograph_session={session}"}
    same = await websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],
        additional_headers={**headers, "Origin": f"http://{server}"},
    )
    await same.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await same.recv())["type"] == "connection_ack"
    await same.close()
    # Another site's page cannot even open the socket (Strawberry checks the Origin) ...
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            f"ws://{server}/graphql",
            subprotocols=["graphql-transport-ws"],
            additional_headers={**headers, "Origin": "https://evil.example"},
        )
    assert refused.value.response.status_code == 403
    # ... and without a matching Origin the cookie is no identity: connection_init is refused.
    blind = await websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],
        additional_headers={**headers, "Sec-Fetch-Site": "cross-site"},
    )
    await blind.send(json.dumps({"type": "connection_init"}))
    assert await _closed_with(blind) == 4403


async def test_revoked_and_demoted_users_lose_their_open_sockets(server, runtime, client, monkeypatch):
    """A token revoked, or a role changed, closes the user's open sockets with 4403 within seconds."""
    from domain.accounts.tokens import issue_token
    from domain.accounts.users import Role, create_user
    from graph import auth

    monkeypatch.setattr(auth, "CREDENTIAL_CHECK_SECONDS", 0.2)
    user = await create_user(runtime, "leaving", Role.ADMIN)
    token_row, secret = await issue_token(runtime, user.id, "laptop")
    demoted_row, demoted_secret = await issue_token(runtime, user.id, "desktop")
    revoked = await _open(server, {}, secret)
    demoted = await _open(server, {}, demoted_secret)
    other = await _open(server, {}, await auth_token(runtime))
    body = await gql(
        client,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
        id=str(GlobalID("ApiToken", str(token_row.id))),
    )
    assert "errors" not in body, body
    assert await _closed_with(revoked) == 4403
    body = await gql(
        client,
        "mutation($id: ID!) { setUserRole(id: $id, role: VIEWER) { role } }",
        id=str(GlobalID("User", str(user.id))),
    )
    assert body["data"]["setUserRole"]["role"] == "VIEWER"
    runtime.verified_tokens.clear()  # this process's cache; other processes see it within its lifetime
    assert await _closed_with(demoted) == 4403
    await asyncio.sleep(0.5)
    assert other.close_code is None  # an unchanged user's socket stays open
    await other.close()


async def auth_token(runtime) -> str:
    from tests.conftest import make_user

    return await make_user(runtime, "stays", "VIEWER")
