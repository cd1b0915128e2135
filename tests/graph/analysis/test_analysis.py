"""Analysis jobs through the graph: demo defects found, versions, suggestions, review order, cancel."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from domain.datasets.demo import DemoSpec, write_demo_dataset
from domain.datasets.demo.defects import assign_defects
from tests.conftest import gql, http_client, make_user, register

SPEC = DemoSpec(episodes=12, min_length=150, max_length=300, width=64, height=48, seed=0)
DEFECTS = assign_defects(
    SPEC.episodes
)  # {1: jitter, 3: hesitation, 6: velocity_spike, 8: dropped_frame, 10: nan}
CLEAN = [i for i in range(SPEC.episodes) if i not in DEFECTS]

RUN = "mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id kind version status } }"
JOB = """query($id: ID!) { node(id: $id) { ... on Job { status version progress message summary result errorCode
  errorMessage } } }"""
EPISODES = """query($id: ID!, $first: Int, $after: String, $order: EpisodeOrder, $flagged: Boolean) {
  node(id: $id) { ... on Dataset { episodes(first: $first, after: $after, orderBy: $order,
      filter: {flagged: $flagged}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id index overallGrade flagged unverifiedSuggestions cluster
      metrics { smoothness efficiency jitter hesitationCount correctionCount overallGrade flags }
      suggestions { id type severity fromFrame toFrame fromTime toTime description autoDetected verified
        analysisKind } } } } } } }"""


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("analysis") / "demo"
    write_demo_dataset(folder, SPEC)
    return folder


@pytest.fixture
async def demo(runtime, data_root, demo_folder) -> str:
    shutil.copytree(demo_folder, data_root / "demo")
    dataset_id = await register(runtime, data_root / "demo")
    return base64.b64encode(f"Dataset:{dataset_id}".encode()).decode()


def demo_folder_of(runtime) -> Path:
    return Path(runtime.settings.data_roots[0]) / "demo"


def job_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def run(client, runtime, dataset: str, kind: str, **extra) -> dict:
    started = await gql(client, RUN, input={"datasetId": dataset, "kind": kind, **extra})
    assert "errors" not in started, started
    job = started["data"]["runAnalysis"]
    await runtime.jobs.wait(job_id(job["id"]))
    done = (await gql(client, JOB, id=job["id"]))["data"]["node"]
    assert done["status"] == "COMPLETED", done
    return done


async def episodes(client, dataset: str, **variables) -> list[dict]:
    body = await gql(client, EPISODES, id=dataset, first=50, **variables)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["node"]["episodes"]["edges"]]


async def test_the_jobs_find_the_demo_defects_where_the_generator_put_them(client, runtime, demo):
    metrics = await run(client, runtime, demo, "TRAJECTORY_METRICS")
    assert metrics["version"] == 1 and metrics["summary"]["episodes"] == SPEC.episodes
    assert metrics["progress"] == 1.0 and metrics["message"] == f"{SPEC.episodes}/{SPEC.episodes} episodes"
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    found = {e["index"]: e for e in await episodes(client, demo)}
    expected = {
        "jitter": "JITTER",
        "hesitation": "HESITATION",
        "velocity_spike": "VELOCITY_SPIKE",
        "dropped_frame": "SENSOR_DROPOUT",
        "nan_state": "SENSOR_DROPOUT",
    }
    documented = json.loads((demo_folder_of(runtime) / "defects.json").read_text())["episodes"]
    for index, kind in DEFECTS.items():
        record = next(r for r in documented[str(index)] if r["type"] == kind)
        hits = [
            s
            for s in found[index]["suggestions"]
            if s["type"] == expected[kind]
            and s["fromFrame"] <= record["to_frame"] + 1
            and s["toFrame"] >= record["from_frame"] - 1
        ]  # the range the generator wrote, give or take a frame
        assert hits and found[index]["flagged"], (index, kind, record, found[index]["suggestions"])
        assert all(
            s["autoDetected"]
            and not s["verified"]
            and s["analysisKind"] == "ANOMALY_DETECTION"
            and any(c.isdigit() for c in s["description"])
            for s in hits
        )
    flagged_clean = [i for i in CLEAN if found[i]["flagged"]]
    assert len(flagged_clean) <= 2, flagged_clean
    assert all(found[i]["metrics"] is not None and 1 <= found[i]["overallGrade"] <= 5 for i in found)
    assert found[1]["metrics"]["jitter"] > max(found[i]["metrics"]["jitter"] for i in CLEAN)


async def test_reruns_are_versions_and_keep_verified_suggestions(client, runtime, demo):
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    spike = next(e for e in await episodes(client, demo) if e["index"] == 6)
    first, *rest = spike["suggestions"]
    kept = await gql(
        client,
        "mutation($id: ID!) { reviewSuggestion(id: $id, verified: true) { id verified } }",
        id=first["id"],
    )
    assert kept["data"]["reviewSuggestion"] == {"id": first["id"], "verified": True}
    again = await run(client, runtime, demo, "ANOMALY_DETECTION")
    assert again["version"] == 2
    after = next(e for e in await episodes(client, demo) if e["index"] == 6)
    ids = {s["id"] for s in after["suggestions"]}
    assert first["id"] in ids and not ids & {s["id"] for s in rest}  # verified kept, others replaced
    assert after["unverifiedSuggestions"] == len(after["suggestions"]) - 1
    dismissed = next(s for s in after["suggestions"] if not s["verified"]) if rest else None
    if dismissed:
        gone = await gql(
            client,
            "mutation($id: ID!) { reviewSuggestion(id: $id, verified: false) { id } }",
            id=dismissed["id"],
        )
        assert gone["data"]["reviewSuggestion"] is None
        final = next(e for e in await episodes(client, demo) if e["index"] == 6)
        assert dismissed["id"] not in {s["id"] for s in final["suggestions"]}
    history = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset {
        analyses(kind: ANOMALY_DETECTION) { runs { version status } latest { version } } } } }""",
        id=demo,
    )
    analyses = history["data"]["node"]["analyses"]
    assert [r["version"] for r in analyses["runs"]] == [2, 1] and analyses["latest"]["version"] == 2


async def test_review_order_filters_and_pages(client, runtime, demo):
    await run(client, runtime, demo, "TRAJECTORY_METRICS")
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    everything = await episodes(client, demo)
    by_grade = sorted(everything, key=lambda e: (e["overallGrade"], e["index"]))
    walked, after = [], None
    while True:
        body = await gql(client, EPISODES, id=demo, first=5, after=after, order="OVERALL_GRADE")
        page = body["data"]["node"]["episodes"]
        walked += [e["node"]["index"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [e["index"] for e in by_grade]
    most = await episodes(client, demo, order="UNVERIFIED_SUGGESTIONS")
    counts = [e["unverifiedSuggestions"] for e in most]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    flagged = await episodes(client, demo, flagged=True)
    assert {e["index"] for e in flagged} == {e["index"] for e in everything if e["flagged"]} >= set(DEFECTS)
    wrong = await gql(client, EPISODES, id=demo, first=5, after="bm9wZQ==", order="OVERALL_GRADE")
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_metrics_summary_and_the_filter_share_one_definition_of_flagged(client, runtime, demo):
    """Issue 15: the TRAJECTORY_METRICS summary called every demo episode flagged (the guide's metric
    flags fire on every natural pick-and-place) while the `flagged` filter returned the defective ones."""
    before = (await run(client, runtime, demo, "TRAJECTORY_METRICS"))["summary"]
    assert before["flagged"] == 0 and before["flaggedEpisodes"] == []  # no suggestions yet
    assert await episodes(client, demo, flagged=True) == []
    assert sum(before["metricFlags"].values()) > 0  # reported under their own name
    await run(client, runtime, demo, "ANOMALY_DETECTION")
    after = (await run(client, runtime, demo, "TRAJECTORY_METRICS"))["summary"]
    filtered = sorted(e["index"] for e in await episodes(client, demo, flagged=True))
    assert after["flaggedEpisodes"] == filtered and after["flagged"] == len(filtered)
    assert set(DEFECTS) <= set(filtered) and len(filtered) < SPEC.episodes


async def test_quality_report_and_clusters(client, runtime, demo):
    report = await run(client, runtime, demo, "QUALITY_REPORT")
    assert report["summary"]["episodes"] == SPEC.episodes
    body = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset {
        qualityReport { version episodes medianLength checks { name count episodeIndexes } } } } }""",
        id=demo,
    )
    quality = body["data"]["node"]["qualityReport"]
    checks = {c["name"]: c for c in quality["checks"]}
    nan = next(i for i, kind in DEFECTS.items() if kind == "nan_state")
    gap = next(i for i, kind in DEFECTS.items() if kind == "dropped_frame")
    assert quality["version"] == 1 and quality["episodes"] == SPEC.episodes
    assert checks["nan"]["episodeIndexes"] == [nan] and checks["gaps"]["episodeIndexes"] == [gap]
    assert checks["frozen_joints"]["count"] == 0 and checks["frame_count_mismatch"]["count"] == 0
    assert checks["frozen_camera"]["count"] == 0 and checks["dark_frames"]["count"] == 0  # clean cameras
    await run(client, runtime, demo, "CLUSTERING", parameters={"n_clusters": 2})
    body = await gql(
        client,
        """query($id: ID!) { node(id: $id) { ... on Dataset {
        clusters { version k silhouette clusters { index size episodeIndexes } outlierIndexes } } } }""",
        id=demo,
    )
    clusters = body["data"]["node"]["clusters"]
    assert clusters["k"] == 2 and sum(c["size"] for c in clusters["clusters"]) == SPEC.episodes
    found = {e["index"]: e["cluster"] for e in await episodes(client, demo)}
    for c in clusters["clusters"]:
        assert all(found[i] == c["index"] for i in c["episodeIndexes"])


async def test_parameters_are_checked_and_described(client, runtime, demo):
    bad = await gql(
        client,
        RUN,
        input={"datasetId": demo, "kind": "TRAJECTORY_METRICS", "parameters": {"velocity_threshold": -1}},
    )
    error = bad["errors"][0]["extensions"]
    assert error["code"] == "BAD_USER_INPUT" and error["field"] == "input.parameters.velocity_threshold"
    unknown = await gql(
        client, RUN, input={"datasetId": demo, "kind": "CLUSTERING", "parameters": {"colour": 1}}
    )
    assert unknown["errors"][0]["extensions"]["field"] == "input.parameters.colour"
    schemas = await gql(client, "{ jobParameterSchemas { kind schema } }")
    by_kind = {s["kind"]: s["schema"] for s in schemas["data"]["jobParameterSchemas"]}
    assert set(by_kind) == {"TRAJECTORY_METRICS", "ANOMALY_DETECTION", "QUALITY_REPORT", "CLUSTERING"}
    assert by_kind["TRAJECTORY_METRICS"]["properties"]["velocity_threshold"]["default"] == 0.01
    assert by_kind["TRAJECTORY_METRICS"]["properties"]["hesitation_min_frames"]["default"] == 5
    jobs = await gql(client, "{ jobs(filter: {kind: ANALYSIS}) { totalCount } }")
    assert jobs["data"]["jobs"]["totalCount"] == 0  # refused requests start nothing


async def test_cancel_keeps_nothing_and_only_the_starter_or_an_admin_may(app, client, runtime, demo):
    token = await make_user(runtime, "ann", "ANNOTATOR")
    async with http_client(app, token) as annotator:
        started = await gql(annotator, RUN, input={"datasetId": demo, "kind": "ANOMALY_DETECTION"})
        job = started["data"]["runAnalysis"]
        other = await make_user(runtime, "bob", "ANNOTATOR")
        async with http_client(app, other) as stranger:
            refused = await gql(
                stranger, "mutation($id: ID!) { cancelJob(id: $id) { status } }", id=job["id"]
            )
            assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        cancelled = await gql(annotator, "mutation($id: ID!) { cancelJob(id: $id) { status } }", id=job["id"])
    assert cancelled["data"]["cancelJob"]["status"] == "CANCELLED", cancelled
    assert all(not e["suggestions"] and e["unverifiedSuggestions"] == 0 for e in await episodes(client, demo))


async def test_a_run_cut_off_by_a_server_stop_is_failed_and_can_run_again(client, runtime, demo):
    from domain.analysis.kinds import AnalysisKind
    from domain.analysis.runs import analysis_target
    from persistence.repositories import job as jobs_repo

    dataset_id = int(base64.b64decode(demo).decode().split(":")[1])
    async with runtime.sessions() as session, session.begin():
        cut = await jobs_repo.create_job(
            session,
            kind="ANALYSIS",
            status="RUNNING",
            version=1,
            dataset_id=dataset_id,
            parameters={},
            target=analysis_target(dataset_id, AnalysisKind.TRAJECTORY_METRICS),
        )
    await runtime.jobs.recover()  # what the next start does
    gid = base64.b64encode(f"Job:{cut.id}".encode()).decode()
    failed = (await gql(client, JOB, id=gid))["data"]["node"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == "INTERRUPTED"
    assert "server stopped" in failed["errorMessage"]
    again = await run(client, runtime, demo, "TRAJECTORY_METRICS")
    assert again["version"] == 2 and again["summary"]["episodes"] == SPEC.episodes
