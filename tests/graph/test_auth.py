"""Identity: viewer, roles, tokens (wrong, expired, revoked), login codes, cookies, media."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select
from strawberry.relay import GlobalID

from domain.accounts.tokens import create_login_code, hash_secret
from domain.accounts.users import Role, create_user
from graph.auth import SESSION_COOKIE
from persistence.columns import utcnow
from persistence.tables import ApiTokenRow, UserRow
from tests.conftest import gql, http_client, make_user, register

CREATE_USER = """mutation($name: String!, $role: Role!) { createUser(input: {name: $name, role: $role}) { id name role } }"""
ISSUE = """mutation($user: ID!, $expires: DateTime) { issueApiToken(input: {userId: $user, name: "ci", expiresAt: $expires}) {
  secret token { id prefix expiresAt revokedAt } } }"""


async def _user_count(runtime) -> int:
    async with runtime.sessions() as session:
        return len((await session.execute(select(UserRow))).scalars().all())


async def test_viewer_is_the_caller(client, anonymous):
    body = await gql(client, "{ viewer { name role } }")
    assert body["data"]["viewer"] == {"name": "admin", "role": "ADMIN"}
    assert (await gql(anonymous, "{ viewer { name } }"))["data"]["viewer"] is None


async def test_anonymous_reads_are_refused(anonymous):
    body = await gql(anonymous, "{ datasets { totalCount } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_bad_tokens_are_refused_with_401(app, runtime, client):
    async with http_client(app, "ag_not-a-real-token") as wrong:
        response = await wrong.post("/graphql", json={"query": "{ viewer { name } }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    admin = (await gql(client, "{ viewer { id } }"))["data"]["viewer"]["id"]
    issued = (await gql(client, ISSUE, user=admin))["data"]["issueApiToken"]
    secret = issued["secret"]
    async with http_client(app, secret) as fresh:
        assert (await gql(fresh, "{ viewer { name } }"))["data"]["viewer"]["name"] == "admin"
    # Expired: a token valid for a second, used (and so cached as verified), then too late.
    soon = (utcnow() + timedelta(seconds=1)).isoformat()
    short = (await gql(client, ISSUE, user=admin, expires=soon))["data"]["issueApiToken"]["secret"]
    async with http_client(app, short) as brief:
        assert (await gql(brief, "{ viewer { name } }"))["data"]["viewer"]["name"] == "admin"
        await asyncio.sleep(1.1)
        response = await brief.post("/graphql", json={"query": "{ viewer { name } }"})
        assert response.status_code == 401 and "expired" in response.text
    runtime.verified_tokens.clear()
    async with http_client(app, short) as later:  # and from the database, not only the cache
        response = await later.post("/graphql", json={"query": "{ viewer { name } }"})
        assert response.status_code == 401 and "expired" in response.text

    second = (await gql(client, ISSUE, user=admin))["data"]["issueApiToken"]
    async with http_client(app, second["secret"]) as soon_revoked:  # verified, so cached
        assert (await gql(soon_revoked, "{ viewer { name } }"))["data"]["viewer"]["name"] == "admin"
    revoked = await gql(
        client, "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }", id=second["token"]["id"]
    )
    assert revoked["data"]["revokeApiToken"]["revokedAt"] is not None
    async with http_client(app, second["secret"]) as old:
        response = await old.post("/graphql", json={"query": "{ viewer { name } }"})
    assert response.status_code == 401 and "revoked" in response.text


async def test_tokens_are_stored_as_hashes_and_record_use(client, runtime):
    admin = (await gql(client, "{ viewer { id } }"))["data"]["viewer"]["id"]
    issued = (await gql(client, ISSUE, user=admin))["data"]["issueApiToken"]
    async with runtime.sessions() as session:
        rows = (await session.execute(select(ApiTokenRow))).scalars().all()
    assert all(issued["secret"] not in (r.token_hash, r.prefix, r.name) for r in rows)
    assert any(r.token_hash == hash_secret(issued["secret"]) for r in rows)
    assert issued["secret"].startswith(issued["token"]["prefix"])
    used = [r for r in rows if r.last_used_at is not None]
    assert len(used) == 1  # the admin token of this client, used by the requests above
    past = await gql(client, ISSUE, user=admin, expires="2000-01-01T00:00:00Z")
    assert past["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.expiresAt"}


async def test_roles_and_forbidden_mutations(app, client, runtime, tiny_dataset):
    created = await gql(client, CREATE_USER, name="vera", role="VIEWER")
    vera = created["data"]["createUser"]
    assert vera["role"] == "VIEWER"
    duplicate = await gql(client, CREATE_USER, name="vera", role="ADMIN")
    assert duplicate["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}

    secret = (await gql(client, ISSUE, user=vera["id"]))["data"]["issueApiToken"]["secret"]
    before = await _user_count(runtime)
    async with http_client(app, secret) as viewer:
        assert (await gql(viewer, "{ datasets { totalCount } }"))["data"]["datasets"]["totalCount"] == 0
        for mutation in (CREATE_USER,):
            body = await gql(viewer, mutation, name="mallory", role="ADMIN")
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql(
            viewer, "mutation($p: String!) { registerDataset(input: {path: $p}) { id } }", p=str(tiny_dataset)
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql(viewer, "{ users { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # Sensitive fields: server paths are for admins.
        await register(runtime, tiny_dataset)
        body = await gql(viewer, "{ datasets { edges { node { name path } } } }")
        assert (
            body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and body["errors"][0]["path"][-1] == "path"
        )
        # A viewer sees their own tokens, not anyone else's.
        own = await gql(viewer, "{ viewer { tokens { prefix } } }")
        assert len(own["data"]["viewer"]["tokens"]) == 1
        admin_id = (await gql(client, "{ viewer { id } }"))["data"]["viewer"]["id"]
        other = await gql(
            viewer,
            "query($id: ID!) { node(id: $id) { ... on User { name tokens { prefix } } } }",
            id=admin_id,
        )
        assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _user_count(runtime) == before
    jobs = await gql(client, "{ jobs { totalCount } }")
    assert jobs["data"]["jobs"]["totalCount"] == 1  # only the admin's registration

    promoted = await gql(
        client, "mutation($id: ID!) { setUserRole(id: $id, role: REVIEWER) { role } }", id=vera["id"]
    )
    assert promoted["data"]["setUserRole"]["role"] == "REVIEWER"
    missing = await gql(
        client,
        "mutation($id: ID!) { setUserRole(id: $id, role: ADMIN) { role } }",
        id=str(GlobalID("User", "999")),
    )
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    users = await gql(
        client, "{ users(first: 1) { totalCount edges { node { name } } pageInfo { hasNextPage } } }"
    )
    assert users["data"]["users"]["totalCount"] == 2 and users["data"]["users"]["pageInfo"]["hasNextPage"]


async def test_login_code_sets_a_strict_cookie_once(app, runtime, tiny_dataset):
    user = await create_user(runtime, "browser", Role.ANNOTATOR)
    code = await create_login_code(runtime, user.id)
    async with http_client(app) as browser:
        response = await browser.get(f"/login?code={code}")
        assert response.status_code == 303 and response.headers["location"] == "/graphql"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await gql(browser, "{ viewer { name } }"))["data"]["viewer"]["name"] == "browser"
        # Used again in the browser it signed in: back to GraphiQL (test_sessions_and_access_log.py).
        again = await browser.get(f"/login?code={code}")
        assert again.status_code == 303 and again.headers["location"] == "/graphql"
        # Same-site browser requests with the cookie work (Origin is this server).
        ok = await browser.post(
            "/graphql", json={"query": "{ viewer { name } }"}, headers={"Origin": "http://localhost"}
        )
        assert ok.json()["data"]["viewer"]["name"] == "browser"
    async with http_client(app) as stranger:
        assert (await stranger.get("/login?code=ag_nonsense")).status_code == 401


async def test_cross_site_form_post_with_cookie_is_refused(app, runtime, admin_token):
    user = await create_user(runtime, "victim", Role.ADMIN)
    code = await create_login_code(runtime, user.id)
    before = await _user_count(runtime)
    async with http_client(app) as browser:
        await browser.get(f"/login?code={code}")
        assert SESSION_COOKIE in browser.cookies
        form = await browser.post(
            "/graphql",
            data={"query": 'mutation { createUser(input: {name: "evil", role: ADMIN}) { id } }'},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert form.status_code == 403
        assert form.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        no_origin = await browser.post(
            "/graphql",
            content='{"query": "mutation { createUser(input: {name: \\"evil\\", role: ADMIN}) { id } }"}',
            headers={"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
        )
        assert no_origin.status_code == 403
        # Same-site but not JSON: Strawberry refuses to read a form at all.
        same_site_form = await browser.post(
            "/graphql", data={"query": 'mutation { createUser(input: {name: "evil", role: ADMIN}) { id } }'}
        )
        assert same_site_form.status_code in (400, 415)
    assert await _user_count(runtime) == before


async def test_mutation_over_get_is_refused(client, runtime):
    before = await _user_count(runtime)
    response = await client.get(
        "/graphql", params={"query": 'mutation { createUser(input: {name: "g", role: ADMIN}) { id } }'}
    )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await _user_count(runtime) == before
    query = await client.get("/graphql", params={"query": "{ viewer { name } }"})
    assert query.json()["data"]["viewer"]["name"] == "admin"


async def test_media_needs_an_identity(app, client, runtime, tiny_dataset):
    await register(runtime, tiny_dataset)
    url = await gql(
        client,
        '{ datasets { edges { node { episode(index: 0) { frameUrl(frame: 0, camera: "front") } } } } }',
    )
    url = url["data"]["datasets"]["edges"][0]["node"]["episode"]["frameUrl"]
    async with http_client(app) as anonymous:
        assert (await anonymous.get(url)).status_code == 401
    async with http_client(app, "ag_wrong") as wrong:
        assert (await wrong.get(url)).status_code == 401
    assert (await client.get(url)).status_code == 200


async def test_auth_off_acts_as_local_admin(runtime, monkeypatch, app):
    monkeypatch.setattr(runtime.settings, "auth", False)
    async with http_client(app) as anyone:
        body = await gql(anyone, "{ viewer { name role } }")
    assert body["data"]["viewer"] == {"name": "local-admin", "role": "ADMIN"}


async def test_user_names_are_checked(client):
    for name, message in (
        ("", "must not be empty"),
        ("a\u0000b", "control characters"),
        ("x" * 101, "at most 100"),
    ):
        body = await gql(client, CREATE_USER, name=name, role="VIEWER")
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
        assert message in body["errors"][0]["message"]


async def test_make_user_helper_roles(runtime, app):
    secret = await make_user(runtime, "ann", "ANNOTATOR")
    async with http_client(app, secret) as annotator:
        body = await gql(annotator, "{ viewer { role } }")
    assert body["data"]["viewer"]["role"] == "ANNOTATOR"


async def test_a_login_link_followed_from_another_site_is_refused(app, runtime):
    user = await create_user(runtime, "mallory-made", Role.ADMIN)
    code = await create_login_code(runtime, user.id)
    async with http_client(app) as victim:
        refused = await victim.get(f"/login?code={code}", headers={"Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403 and SESSION_COOKIE not in victim.cookies
        # The code was not spent: opened directly (pasted: Sec-Fetch-Site none), it signs in.
        direct = await victim.get(f"/login?code={code}", headers={"Sec-Fetch-Site": "none"})
        assert direct.status_code == 303 and SESSION_COOKIE in victim.cookies


async def test_auth_off_refuses_other_sites_and_unknown_hosts(runtime, monkeypatch, app):
    monkeypatch.setattr(runtime.settings, "auth", False)
    before = await _user_count(runtime)
    evil = 'mutation { createUser(input: {name: "evil", role: ADMIN}) { id } }'
    async with http_client(app) as browser:
        form = await browser.post(
            "/graphql",
            data={"query": evil},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert form.status_code == 403 and form.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        plain = await browser.post(
            "/graphql",
            content=json.dumps({"query": evil}),
            headers={"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
        )
        assert plain.status_code == 403
        # DNS rebinding: the attacker's name now points here; the Host header still says so.
        rebound = await browser.post("/graphql", json={"query": evil}, headers={"Host": "evil.example"})
        assert rebound.status_code == 400
        assert (await gql(browser, "{ viewer { name } }"))["data"]["viewer"]["name"] == "local-admin"
    assert await _user_count(runtime) == before + 1  # the local admin, made by the allowed request
