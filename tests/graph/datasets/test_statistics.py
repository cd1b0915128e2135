"""dataset.statistics and project.statistics equal counts taken straight from the tables (plain SELECTs,
counted in Python here), for an image dataset and an uploaded video; a fixed number of statements."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import text

from persistence.engine import StatementCounter
from tests.conftest import gql, http_client, make_user, register
from tests.graph.annotations.test_episode_annotations import SAVE, payload
from tests.graph.objects_setup import CREATE, labelled_dataset
from tests.graph.validation.test_videos import upload
from tests.graph.validation_setup import LINK, PROJECT, VALIDATE
from tests.quality_video import write_defective_video

FIELDS = """episodes frames boxes boxesByLabel { name count } boxesByCamera { name count }
  boxesBySource { name count } boxesByReview { name count } boxesByAnnotator { count user { name } }
  boxSizes { small medium large } widthHistogram { low high count } heightHistogram { low high count }
  trackLengths { tracks shortest longest mean median histogram { low high count } }
  framesWithoutBoxes { camera frames withBoxes withoutBoxes } episodesByTask { name count }
  episodesByRating { name count }"""
DATASET = "query($id: ID!) { node(id: $id) { ... on Dataset { statistics { FIELDS } } } }".replace(
    "FIELDS", FIELDS
)
PROJECT_STATS = DATASET.replace("on Dataset", "on Project")

# The bins as the schema documents them, written out again here.
SIDES = [0, 8, 16, 32, 64, 96, 128, 256, 512, 1024, None]
TRACKS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, None]


def box(episode, frame, label, w, h, track=None, camera="front", **extra) -> dict:
    made = {"episodeId": episode, "camera": camera, "frame": frame, "label": label}
    made["box"] = {"x": 1, "y": 1, "width": w, "height": h}
    return made | ({"trackId": track} if track else {}) | extra


async def create(client, drafts: list[dict]) -> list[str]:
    made = await gql(client, CREATE, input=drafts)
    assert "errors" not in made, made
    return [b["id"] for b in made["data"]["createObjectAnnotations"]]


async def rate(app, runtime, name: str, episode: str, rating: str) -> None:
    token = await make_user(runtime, name, "ANNOTATOR")
    async with http_client(app, token) as c:
        body = await gql(c, SAVE, input=payload(episode, taskCompleteness={"rating": rating}))
        assert "errors" not in body, body


@pytest.fixture
async def seeded(app, client, runtime, tiny_dataset, tmp_path) -> dict:
    """The tiny dataset (3 episodes, camera front, 64 x 48) with boxes by two users, reviews and ratings,
    and an uploaded 320 x 240 video of 40 frames with boxes of its own."""
    await register(runtime, tiny_dataset)
    dataset, episodes = await labelled_dataset(client)
    e0, e1, e2 = episodes
    tracked = await create(
        client,
        [box(e0, f, "pedestrian", 10, 10, "A") for f in range(5)]
        + [box(e0, f, "vehicle", 32, 32, "B") for f in (2, 3)]  # exactly 32² px²: medium
        + [box(e1, 7, "cyclist", 31.5, 32, source="MODEL", score=0.9)]  # just under 32²: small
        + [box(e1, 9, "pedestrian", 12, 20, "GONE", outside=True)],  # an outside marker: no box
    )
    done = await gql(client, VALIDATE, ids=tracked[:3])
    assert "errors" not in done, done
    rejected = await gql(
        client,
        'mutation($ids: [ID!]!) { validateObjectAnnotations(ids: $ids, validated: false, reason: "no") { id } }',
        ids=tracked[5:6],
    )
    assert "errors" not in rejected, rejected
    token = await make_user(runtime, "boxer", "ANNOTATOR")
    async with http_client(app, token) as other:
        await create(other, [box(e2, f, "pedestrian", 60, 40, "C") for f in range(3)])
    await rate(app, runtime, "r1", e0, "SUCCESS")
    await rate(app, runtime, "r2", e0, "FAILURE")
    await rate(app, runtime, "r3", e1, "SUCCESS")

    path = write_defective_video(tmp_path / "clip.mp4", 40)
    uploaded = await upload(client, "clip.mp4", path.read_bytes())
    assert "errors" not in uploaded, uploaded
    video = uploaded["data"]["uploadVideo"]
    label = await gql(
        client,
        'mutation($d: ID!) { createLabel(input: {datasetId: $d, name: "pedestrian"}) { id } }',
        d=video["dataset"]["id"],
    )
    assert "errors" not in label, label
    await create(
        client,
        [box(video["id"], f, "pedestrian", 100, 100, "P", camera="video") for f in range(10)]
        + [box(video["id"], 3, "pedestrian", 200, 150, "Q", camera="video")],
    )
    return {"dataset": dataset, "episodes": episodes, "video": video}


def bin_index(value: float, edges: list) -> int:
    for i in range(len(edges) - 1):
        if edges[i + 1] is None or value < edges[i + 1]:
            return i
    raise AssertionError(value)


def histogram(values, edges: list) -> list[dict]:
    counts = Counter(bin_index(v, edges) for v in values)
    return [
        {
            "low": float(edges[i]),
            "high": None if edges[i + 1] is None else float(edges[i + 1]),
            "count": counts[i],
        }
        for i in range(len(edges) - 1)
    ]


def named(counter: Counter) -> list[dict]:
    return sorted(({"name": k, "count": n} for k, n in counter.items()), key=lambda d: str(d["name"]))


async def counted_from_tables(runtime, episode_ids: list[int], labels: list[str] = ()) -> dict:
    """The statistics computed here from plain SELECTs of the rows."""
    ids = ",".join(str(i) for i in episode_ids)
    async with runtime.sessions() as db:
        boxes = (
            await db.execute(
                text(
                    "SELECT o.episode_id, o.camera, o.frame, o.width, o.height, o.source, o.review, u.name, "
                    "o.track_id, o.outside, l.name FROM object_annotation o JOIN label l ON l.id = o.label_id "
                    f'LEFT JOIN "user" u ON u.id = o.created_by WHERE o.episode_id IN ({ids})'
                )
            )
        ).all()
        episodes = (
            await db.execute(
                text(f"SELECT id, length, cameras, task_index, dataset_id FROM episode WHERE id IN ({ids})")
            )
        ).all()
        tasks = {
            (d, i): t
            for d, i, t in (await db.execute(text('SELECT dataset_id, "index", description FROM task'))).all()
        }
        ratings = (
            await db.execute(
                text(f"SELECT episode_id, rating FROM episode_annotation WHERE episode_id IN ({ids})")
            )
        ).all()
    boxes = [b for b in boxes if not b[9] and (not labels or b[10] in labels)]
    tracks = Counter((b[0], b[1], b[8]) for b in boxes)
    lengths = sorted(tracks.values())
    mid = len(lengths) // 2
    frames: Counter = Counter()
    with_boxes: Counter = Counter()
    boxed = {(b[0], b[1], b[2]) for b in boxes}
    for episode_id, _, cameras, _, _ in episodes:
        cameras = json.loads(cameras) if isinstance(cameras, str) else cameras
        for camera, shape in cameras.items():
            frames[camera] += shape[0]
            with_boxes[camera] += sum(1 for f in range(shape[0]) if (episode_id, camera, f) in boxed)
    rated: dict[str, set] = {}
    for episode_id, rating in ratings:
        rated.setdefault(rating, set()).add(episode_id)
    by_rating = Counter({r: len(e) for r, e in rated.items()})
    by_rating["UNRATED"] = len(episodes) - len({e for e, _ in ratings})
    areas = [b[3] * b[4] for b in boxes]
    return {
        "episodes": len(episodes),
        "frames": sum(e[1] for e in episodes),
        "boxes": len(boxes),
        "boxesByLabel": named(Counter(b[10] for b in boxes)),
        "boxesByCamera": named(Counter(b[1] for b in boxes)),
        "boxesBySource": named(Counter(b[5] for b in boxes)),
        "boxesByReview": named(Counter(b[6] for b in boxes)),
        "boxesByAnnotator": sorted(
            ({"count": n, "user": {"name": u}} for u, n in Counter(b[7] for b in boxes).items()),
            key=lambda d: d["user"]["name"],
        ),
        "boxSizes": {
            "small": sum(a < 1024 for a in areas),
            "medium": sum(1024 <= a < 9216 for a in areas),
            "large": sum(a >= 9216 for a in areas),
        },
        "widthHistogram": histogram([b[3] for b in boxes], SIDES),
        "heightHistogram": histogram([b[4] for b in boxes], SIDES),
        "trackLengths": {
            "tracks": len(lengths),
            "shortest": lengths[0] if lengths else None,
            "longest": lengths[-1] if lengths else None,
            "mean": sum(lengths) / len(lengths) if lengths else None,
            "median": (lengths[mid] + lengths[~mid]) / 2 if lengths else None,
            "histogram": histogram(lengths, TRACKS),
        },
        "framesWithoutBoxes": [
            {
                "camera": c,
                "frames": frames[c],
                "withBoxes": with_boxes[c],
                "withoutBoxes": frames[c] - with_boxes[c],
            }
            for c in sorted(frames)
        ],
        "episodesByTask": named(Counter(tasks.get((e[4], e[3])) for e in episodes)),
        "episodesByRating": named(by_rating),
    }


def comparable(stats: dict) -> dict:
    """The graph's answer with its lists in the order the counting above gives them."""
    out = dict(stats)
    for key in (
        "boxesByLabel",
        "boxesByCamera",
        "boxesBySource",
        "boxesByReview",
        "episodesByTask",
        "episodesByRating",
    ):
        out[key] = sorted(stats[key], key=lambda d: str(d["name"]))
    out["boxesByAnnotator"] = sorted(stats["boxesByAnnotator"], key=lambda d: d["user"]["name"])
    return out


async def episode_ids(runtime, dataset: str | None = None) -> dict[str, list[int]]:
    async with runtime.sessions() as db:
        rows = (
            await db.execute(
                text("SELECT d.format, e.id FROM episode e JOIN dataset d ON d.id = e.dataset_id")
            )
        ).all()
    out: dict[str, list[int]] = {}
    for fmt, i in rows:
        out.setdefault(fmt, []).append(i)
    return out


async def test_dataset_statistics_equal_counts_from_the_tables(client, runtime, seeded):
    body = await gql(client, DATASET, id=seeded["dataset"])
    assert "errors" not in body, body
    got = comparable(body["data"]["node"]["statistics"])
    ids = await episode_ids(runtime)
    assert got == await counted_from_tables(runtime, ids["HDF5"])
    # And by hand, so that a shared misreading of the tables would show too.
    assert got["boxes"] == 11 and got["boxSizes"] == {
        "small": 6,
        "medium": 5,
        "large": 0,
    }  # no outside marker
    assert {d["name"]: d["count"] for d in got["boxesByReview"]} == {
        "VALIDATED": 3,
        "REJECTED": 1,
        "PENDING": 7,
    }
    assert got["trackLengths"]["tracks"] == 4 and got["trackLengths"]["longest"] == 5
    assert got["framesWithoutBoxes"] == [
        {"camera": "front", "frames": 150, "withBoxes": 9, "withoutBoxes": 141}
    ]
    assert {d["name"]: d["count"] for d in got["episodesByRating"]} == {
        "SUCCESS": 2,
        "FAILURE": 1,
        "UNRATED": 1,
    }


async def test_video_dataset_and_project_statistics_equal_counts_from_the_tables(client, runtime, seeded):
    video = seeded["video"]
    body = await gql(client, DATASET, id=video["dataset"]["id"])
    assert "errors" not in body, body
    got = comparable(body["data"]["node"]["statistics"])
    ids = await episode_ids(runtime)
    assert got == await counted_from_tables(runtime, ids["VIDEO"])
    assert got["boxSizes"] == {"small": 0, "medium": 0, "large": 11}
    assert got["framesWithoutBoxes"] == [
        {"camera": "video", "frames": 40, "withBoxes": 10, "withoutBoxes": 30}
    ]

    # A project of two tiny episodes and the video, validating pedestrians only.
    made = await gql(client, PROJECT, input={"name": "stats", "labels": ["pedestrian"]})
    project = made["data"]["createProject"]["id"]
    linked = await gql(client, LINK, p=project, e=[*seeded["episodes"][:2], video["id"]], r=None)
    assert "errors" not in linked, linked
    body = await gql(client, PROJECT_STATS, id=project)
    assert "errors" not in body, body
    got = comparable(body["data"]["node"]["statistics"])
    tiny = sorted(ids["HDF5"])[:2]
    assert got == await counted_from_tables(runtime, [*tiny, *ids["VIDEO"]], ["pedestrian"])
    assert got["boxesByLabel"] == [{"name": "pedestrian", "count": 16}] and got["episodes"] == 3


async def test_statistics_take_a_fixed_number_of_statements(client, runtime, seeded):
    await gql(client, "{ viewer { name } }")
    with StatementCounter(runtime.engine) as small:
        body = await gql(client, DATASET, id=seeded["dataset"])
    assert "errors" not in body, body
    e0, e1, e2 = seeded["episodes"]
    await create(
        client,
        [
            box(e, f, lab, 5 + f, 7 + f, f"T{e[-4:]}{lab}")
            for e in (e0, e1, e2)
            for f in range(10, 40)
            for lab in ("pedestrian", "vehicle")
        ],
    )
    with StatementCounter(runtime.engine) as large:
        body = await gql(client, DATASET, id=seeded["dataset"])
    assert "errors" not in body, body
    assert body["data"]["node"]["statistics"]["boxes"] == 11 + 180
    assert small.count == large.count <= 14, (small.count, large.count, large.statements)


async def test_statistics_of_a_missing_dataset_name_the_field(client, runtime):
    from domain.core.errors import NotFound
    from domain.datasets.statistics import dataset_statistics, project_statistics

    with pytest.raises(NotFound) as caught:
        await dataset_statistics(runtime, 999)
    assert caught.value.field == "id" and "999" in str(caught.value)
    with pytest.raises(NotFound):
        await project_statistics(runtime, 999)
