"""Re-running ANOMALY_DETECTION after review: what a reviewer verified is never suggested again (no
unverified copy, the episode not flagged again), and a dismissed suggestion's id is never reused."""

from __future__ import annotations

from tests.conftest import gql
from tests.graph.analysis.test_analysis import demo, demo_folder, episodes, run  # noqa: F401 - fixtures

REVIEW = "mutation($id: ID!, $v: Boolean!) { reviewSuggestion(id: $id, verified: $v) { id verified } }"


def finding(s: dict) -> tuple:
    return s["type"], s["fromFrame"], s["toFrame"]


async def test_a_rerun_never_duplicates_a_verified_suggestion(client, runtime, demo):  # noqa: F811
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    before = {e["index"]: e for e in await episodes(client, demo)}
    flagged = [e for e in before.values() if e["suggestions"]]
    assert len(flagged) >= 2
    everything, partly = flagged[0], flagged[1]
    for s in everything["suggestions"]:  # a reviewer verifies all of one episode's suggestions
        assert (await gql(client, REVIEW, id=s["id"], v=True))["data"]["reviewSuggestion"]["verified"]
    one = partly["suggestions"][0]  # and one of another's
    assert (await gql(client, REVIEW, id=one["id"], v=True))["data"]["reviewSuggestion"]["verified"]

    await run(client, runtime, demo, "ANOMALY_DETECTION")
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    after = {e["index"]: e for e in await episodes(client, demo)}
    done = after[everything["index"]]
    assert [(s["id"], s["verified"]) for s in done["suggestions"]] == [
        (s["id"], True) for s in everything["suggestions"]
    ]
    assert done["flagged"] is False and done["unverifiedSuggestions"] == 0
    half = after[partly["index"]]
    findings = [finding(s) for s in half["suggestions"]]
    assert len(findings) == len(set(findings))  # no finding twice
    assert [s for s in half["suggestions"] if finding(s) == finding(one)] == [{**one, "verified": True}]
    assert half["unverifiedSuggestions"] == len(half["suggestions"]) - 1


async def test_a_dismissed_suggestions_id_is_not_given_to_a_new_one(client, runtime, demo):  # noqa: F811
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    ids = [s["id"] for e in await episodes(client, demo) for s in e["suggestions"]]
    dismissed = ids[-1]
    assert (await gql(client, REVIEW, id=dismissed, v=False))["data"]["reviewSuggestion"] is None
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    new = {s["id"] for e in await episodes(client, demo) for s in e["suggestions"]}
    assert new and not new & set(ids)
