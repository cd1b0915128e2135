"""runAnalysis(QUALITY_REPORT) on an uploaded video: the job's workers decode the video's frames, and the
report names the dark, frozen and blurred frames and the dropped frame times of a generated MP4."""

from __future__ import annotations

from strawberry import relay

from tests.conftest import gql
from tests.graph.validation.test_videos import upload
from tests.quality_video import write_defective_video

RUN = "mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }"
REPORT = """query($id: ID!) { node(id: $id) { ... on Dataset { qualityReport { episodes
  checks { name count episodeIndexes frames { episodeIndex camera ranges } } } } } }"""


async def test_the_quality_report_of_a_video_names_its_faulty_frames(client, runtime, tmp_path):
    path = write_defective_video(
        tmp_path / "run.mp4",
        90,
        dark=range(10, 18),
        frozen=range(30, 45),
        blurred=range(55, 63),
        late={75: 3, 80: 1},
    )
    uploaded = await upload(client, "run.mp4", path.read_bytes())
    assert "errors" not in uploaded, uploaded
    dataset = uploaded["data"]["uploadVideo"]["dataset"]["id"]
    started = await gql(client, RUN, input={"datasetId": dataset, "kind": "QUALITY_REPORT"})
    assert "errors" not in started, started
    job = int(relay.GlobalID.from_id(started["data"]["runAnalysis"]["id"]).node_id)
    done = await runtime.jobs.wait(job)
    assert done.status == "COMPLETED", done.error_message
    body = await gql(client, REPORT, id=dataset)
    assert "errors" not in body, body
    report = body["data"]["node"]["qualityReport"]
    checks = {c["name"]: c for c in report["checks"]}
    assert report["episodes"] == 1
    found = {name: c["frames"] for name, c in checks.items() if c["count"]}
    assert found == {
        "dark_frames": [{"episodeIndex": 0, "camera": "video", "ranges": [[10, 17]]}],
        "frozen_camera": [{"episodeIndex": 0, "camera": "video", "ranges": [[30, 44]]}],
        "blurred_frames": [{"episodeIndex": 0, "camera": "video", "ranges": [[55, 62]]}],
        "gaps": [{"episodeIndex": 0, "camera": None, "ranges": [[75, 75], [80, 80]]}],
    }
    assert checks["nan"]["count"] == 0 and checks["nan"]["frames"] == []
