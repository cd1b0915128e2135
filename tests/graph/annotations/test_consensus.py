"""episode.consensus, dataset.annotationProgress and the annotation filters, through the graph."""

from __future__ import annotations

import pytest

from tests.conftest import gql, http_client, make_user, register
from tests.graph.annotations.test_episode_annotations import SAVE, payload

EPISODE_IDS = "{ datasets { edges { node { id episodes { edges { node { id index } } } } } } }"


@pytest.fixture
async def ids(client, runtime, tiny_dataset) -> dict:
    await register(runtime, tiny_dataset)
    node = (await gql(client, EPISODE_IDS))["data"]["datasets"]["edges"][0]["node"]
    return {"dataset": node["id"], **{e["node"]["index"]: e["node"]["id"] for e in node["episodes"]["edges"]}}


async def annotate(app, runtime, name: str, episode_id: str, rating: str, grades: dict, anomalies=()) -> str:
    token = await make_user(runtime, name, "ANNOTATOR")
    async with http_client(app, token) as c:
        body = await gql(
            c,
            SAVE,
            input=payload(
                episode_id,
                taskCompleteness={"rating": rating},
                trajectoryQuality=grades,
                dataQuality={"videoQuality": grades.get("smoothness")},
                anomalies=list(anomalies),
            ),
        )
        assert "errors" not in body, body
        return (await gql(c, "{ viewer { id } }"))["data"]["viewer"]["id"]


def anomaly(start: int, end: int, kind: str = "SLIP", severity: str = "LOW") -> dict:
    return {"type": kind, "severity": severity, "fromFrame": start, "toFrame": end}


CONSENSUS = """query($id: ID!) { node(id: $id) { ... on Episode { consensus {
  annotatorCount rating agreement ratingCounts { rating count }
  grades { name mean spread count }
  anomalies { type severity fromFrame toFrame meanIou annotators { name } } } } } }"""


async def test_consensus_of_three_annotators(app, client, runtime, ids):
    episode = ids[1]
    await annotate(app, runtime, "a1", episode, "SUCCESS", {"smoothness": 4, "safety": 5}, [anomaly(10, 19)])
    await annotate(
        app,
        runtime,
        "a2",
        episode,
        "SUCCESS",
        {"smoothness": 2, "safety": 5},
        [anomaly(12, 21, "DROP", "HIGH"), anomaly(40, 45)],
    )
    await annotate(app, runtime, "a3", episode, "FAILURE", {"smoothness": 3}, [anomaly(30, 35)])
    consensus = (await gql(client, CONSENSUS, id=episode))["data"]["node"]["consensus"]
    assert consensus["annotatorCount"] == 3
    assert consensus["rating"] == "SUCCESS" and consensus["agreement"] == pytest.approx(2 / 3)
    assert {c["rating"]: c["count"] for c in consensus["ratingCounts"]} == {
        "SUCCESS": 2,
        "PARTIAL": 0,
        "FAILURE": 1,
        "UNKNOWN": 0,
    }
    smooth = next(s for s in consensus["grades"] if s["name"] == "smoothness")
    assert smooth["mean"] == pytest.approx(3.0) and smooth["spread"] == pytest.approx((2 / 3) ** 0.5)
    safety = next(s for s in consensus["grades"] if s["name"] == "safety")
    assert (safety["count"], safety["spread"]) == (2, 0.0)
    # 10-19 and 12-21 overlap by 8 of 12 frames (IoU 0.67): agreed. 30-35 and 40-45 stand alone.
    (agreed,) = consensus["anomalies"]
    assert (agreed["fromFrame"], agreed["toFrame"], agreed["severity"]) == (10, 21, "HIGH")
    assert sorted(a["name"] for a in agreed["annotators"]) == ["a1", "a2"]
    assert agreed["meanIou"] == pytest.approx(8 / 12)
    empty = (await gql(client, CONSENSUS, id=ids[0]))["data"]["node"]["consensus"]
    assert empty is None


async def test_annotation_progress_and_alpha(app, client, runtime, ids):
    await annotate(app, runtime, "b1", ids[0], "SUCCESS", {"smoothness": 4})
    await annotate(app, runtime, "b2", ids[0], "SUCCESS", {"smoothness": 4})
    await annotate(app, runtime, "b3", ids[1], "FAILURE", {"smoothness": 2})
    query = """query($id: ID!) { node(id: $id) { ... on Dataset { annotationProgress {
      episodeCount unannotated singleAnnotator multipleAnnotators ratingAlpha pairableEpisodes
      gradeAlphas { name alpha } } } } }"""
    progress = (await gql(client, query, id=ids["dataset"]))["data"]["node"]["annotationProgress"]
    assert (
        progress["episodeCount"],
        progress["unannotated"],
        progress["singleAnnotator"],
        progress["multipleAnnotators"],
    ) == (3, 1, 1, 1)
    # One pairable episode whose two values agree: no variation, alpha undefined.
    assert progress["pairableEpisodes"] == 1 and progress["ratingAlpha"] is None
    # Now two pairable episodes with some disagreement: alpha is defined and below 1.
    await annotate(app, runtime, "b4", ids[1], "SUCCESS", {"smoothness": 5})
    progress = (await gql(client, query, id=ids["dataset"]))["data"]["node"]["annotationProgress"]
    assert progress["pairableEpisodes"] == 2 and progress["multipleAnnotators"] == 2
    # Units (S,S) and (F,S). By hand: n_S = 3, n_F = 1, n = 4; observed disagreement
    # D_o = (o_SF + o_FS) / n = 2/4; expected D_e = 2 * n_S * n_F / (n (n - 1)) = 6/12; alpha = 1 - D_o/D_e = 0.
    assert progress["ratingAlpha"] == pytest.approx(0.0, abs=1e-12)
    names = {s["name"] for s in progress["gradeAlphas"]}
    assert names == {"smoothness", "efficiency", "safety", "precision", "video_quality"}


async def test_annotation_filters(app, client, runtime, ids):
    b1 = await annotate(app, runtime, "c1", ids[0], "SUCCESS", {})
    await annotate(app, runtime, "c2", ids[0], "SUCCESS", {})
    await annotate(app, runtime, "c3", ids[1], "SUCCESS", {})
    await annotate(app, runtime, "c4", ids[1], "FAILURE", {})
    query = """query($f: EpisodeFilter) { datasets { edges { node { episodes(filter: $f) {
      totalCount edges { node { index } } } } } } }"""

    async def indexes(**f) -> list[int]:
        body = await gql(client, query, f=f)
        assert "errors" not in body, body
        conn = body["data"]["datasets"]["edges"][0]["node"]["episodes"]
        assert conn["totalCount"] == len(conn["edges"])
        return [e["node"]["index"] for e in conn["edges"]]

    assert await indexes(hasAnnotations=True) == [0, 1]
    assert await indexes(hasAnnotations=False) == [2]
    assert await indexes(rating="FAILURE") == [1]
    assert await indexes(annotatedBy=b1) == [0]
    assert await indexes(minAgreement=1.0) == [0]
    assert await indexes(minAgreement=0.5) == [0, 1]
    assert await indexes(minAgreement=0.5, rating="FAILURE", minLength=45) == [1]
    bad = await gql(client, query, f={"minAgreement": 2})
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.minAgreement"}
