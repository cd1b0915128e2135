"""LeRobot reader: the samples LeRobot itself wrote (tests/samples/lerobot_v30_sample, lerobot_v21_sample,
AV1), datasets from tests/samples_lerobot.py (H.264 with B-frames, HEVC, AV1; several episodes per data,
video and episode-table file; row groups crossing episodes; PNG images in the parquet), and broken copies.

References: rows read with pyarrow and selected by `episode_index`; frames by LeRobot's own approach
(`decode_video_frames_pyav`: decode the file in order with PyAV, take the frame whose pts * time_base is
nearest `from_timestamp + timestamp`), and for images the PNG bytes decoded by Pillow.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image
from pydantic import ValidationError

from persistence.episode_sources import lerobot, lerobot_v21
from persistence.episode_sources.base import FrameRequestError, SourceError, make_ref
from persistence.video_files import VideoFileCache
from tests import samples_lerobot as gen

SAMPLES = Path(__file__).parents[1] / "samples"
V30, V21 = SAMPLES / "lerobot_v30_sample", SAMPLES / "lerobot_v21_sample"
JOINTS = ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6", "gripper"]
TASKS = [(0, "pick up the red cube"), (1, "put the cube in the bowl")]


# -- helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def videos():
    cache = VideoFileCache()
    yield cache
    cache.close()


def open_ep(root: Path, episode, videos: VideoFileCache):
    return lerobot.open_episode(make_ref(lerobot.FORMAT, str(root), episode.file, episode.locator), videos)


def rows_of(root: Path, episode) -> pa.Table:
    """The episode's rows as pyarrow reads them: its data file filtered by episode_index."""
    table = pq.read_table(root / episode.file)
    return table.filter(pc.equal(table["episode_index"], episode.index))


def matrix(table: pa.Table, column: str) -> np.ndarray:
    return np.array(table[column].to_pylist())


@functools.lru_cache(maxsize=64)
def decoded(video: Path, mtime_ns: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every frame of the file, decoded in order by PyAV, with its time (pts * time_base), as LeRobot's
    PyAV backend computes it."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [
            (float(f.pts * stream.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(stream)
        ]
    return np.array([t for t, _ in frames]), [f for _, f in frames]


def lerobot_frames(video: Path, queries: list[float], tolerance: float) -> list[np.ndarray]:
    """LeRobot's choice for each query time: the decoded frame nearest it (argmin: the first on a tie)."""
    times, frames = decoded(video, video.stat().st_mtime_ns)
    out = []
    for query in queries:
        distance = np.abs(times - query)
        nearest = int(np.argmin(distance))
        assert distance[nearest] <= tolerance, (video, query)
        out.append(frames[nearest])
    return out


def check_every_frame(root: Path, scan, videos: VideoFileCache, markers: bool) -> int:
    """Every frame of every camera of every episode equals LeRobot's pick (and, for generated datasets,
    shows its own episode, frame and camera). Returns the number of frames compared."""
    compared = 0
    for episode in scan.episodes:
        reader = open_ep(root, episode, videos)
        stamps = np.array(rows_of(root, episode)["timestamp"].to_pylist(), dtype=np.float64)
        for number, camera in enumerate(scan.cameras, 1):
            window = episode.locator["videos"][camera]
            expected = lerobot_frames(
                root / window["file"], list(window["from"] + stamps), 1 / scan.fps - 1e-4
            )
            got = reader.frames(camera, list(range(reader.length)))
            assert len(got) == episode.length
            for n, (a, b) in enumerate(zip(got, expected, strict=True)):
                assert a.dtype == np.uint8 and a.shape == (*episode.cameras[camera][1:], 3)
                assert np.array_equal(a, b), (episode.index, camera, n)
                if markers:
                    assert gen.marker(a) == (n, episode.index, number)
                compared += 1
        reader.close()
    return compared


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, copy_function=shutil.copyfile)  # copyfile: the samples are read-only
    return target


def raises(call, file: Path | str, where: str | None = None) -> SourceError:
    with pytest.raises(SourceError) as info:
        call()
    assert Path(info.value.path) == Path(file), info.value
    if where is not None:
        assert info.value.where == where, info.value
    return info.value


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def rewrite(path: Path, change) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


# -- detect, options ------------------------------------------------------------------------------------


def test_detect(tmp_path: Path) -> None:
    assert lerobot.detect(V30) and lerobot.detect(V21)
    assert not lerobot.detect(tmp_path)
    assert not lerobot.detect(tmp_path / "nothing")
    assert not lerobot.detect(V30 / "meta" / "info.json")  # a file, not the dataset folder
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text('{"fps": 30}')
    assert not lerobot.detect(tmp_path)
    (tmp_path / "meta" / "info.json").write_bytes(b"\xff\xfe garbage")
    assert not lerobot.detect(tmp_path)


def test_options() -> None:
    assert lerobot.Options().tolerance_s is None
    assert lerobot.Options(tolerance_s=0.01).tolerance_s == 0.01
    with pytest.raises(ValidationError):
        lerobot.Options(tolerance_s=0)
    with pytest.raises(ValidationError):
        lerobot.Options(fps=30)
    schema = lerobot.Options.model_json_schema()
    assert "1e-4 s" in schema["properties"]["tolerance_s"]["description"]


# -- the samples LeRobot wrote ------------------------------------------------------------------------


@pytest.mark.parametrize("root, version", [(V30, "v3.0"), (V21, "v2.1")])
def test_scan_samples(root: Path, version: str) -> None:
    progress: list[float] = []
    scan = lerobot.scan(root, lerobot.Options(), progress=lambda f, _m: progress.append(f))
    assert scan.format == "LEROBOT" and scan.format_version == version and scan.robot_type == "so100"
    assert scan.name == root.name and scan.fps == 30.0
    assert [e.index for e in scan.episodes] == [0, 1, 2]
    assert [e.length for e in scan.episodes] == [30, 40, 25]
    assert [e.duration for e in scan.episodes] == pytest.approx([1.0, 40 / 30, 25 / 30])
    assert scan.cameras == ["front", "wrist"]
    assert scan.episodes[1].cameras == {"front": [40, 96, 128], "wrist": [40, 96, 128]}
    assert scan.joint_names == JOINTS and scan.tasks == TASKS
    assert [e.task_indexes for e in scan.episodes] == [[0], [1], [0]]
    assert scan.episodes[0].missing == ["observation.velocity", "observation.ee_pose"]
    assert scan.features["observation.images.front"]["info"]["video.codec"] == "av1"
    assert progress[-1] == 1.0
    for episode in scan.episodes:
        stat = (root / episode.file).stat()
        assert (episode.file_size, episode.file_mtime) == (stat.st_size, stat.st_mtime)
    if version == "v3.0":
        assert {e.file for e in scan.episodes} == {"data/chunk-000/file-000.parquet"}
        assert [e.locator["rows"] for e in scan.episodes] == [[0, 30], [30, 70], [70, 95]]
        assert scan.episodes[2].locator["videos"]["front"]["from"] == pytest.approx(70 / 30)
    else:
        assert scan.episodes[2].file == "data/chunk-000/episode_000002.parquet"
        assert scan.episodes[2].locator["videos"]["wrist"]["file"] == (
            "videos/chunk-000/observation.images.wrist/episode_000002.mp4"
        )
    mapping = {m.source: m for m in scan.mapping}
    assert mapping["observation.state"].target == "observation.state"
    assert mapping["observation.state"].shape == [7] and mapping["observation.state"].dtype == "float32"
    assert mapping["action"].target == "action" and mapping["timestamp"].target == "timestamp"
    assert mapping["task_index"].target == "task_index"
    assert mapping["observation.state[6]"].target == "observation.gripper"
    assert mapping["observation.images.front"].target == "camera:front"
    for bookkeeping in ("index", "frame_index", "episode_index"):
        assert mapping[bookkeeping].target is None and mapping[bookkeeping].note.startswith("bookkeeping")
    stats = "meta/episodes:stats/*" if version == "v3.0" else "meta/episodes_stats.jsonl"
    assert mapping[stats].target is None and mapping[stats].note
    assert any(m.target == "task" for m in scan.mapping)
    assert set(scan.features) <= set(mapping)  # every feature is listed


@pytest.mark.parametrize("root", [V30, V21])
def test_sample_arrays_match_pyarrow(root: Path, videos: VideoFileCache) -> None:
    scan = lerobot.scan(root, lerobot.Options())
    names = [
        "timestamp",
        "observation.state",
        "action",
        "observation.gripper",
        "task_index",
        "observation.velocity",
    ]
    for episode in scan.episodes:
        rows = rows_of(root, episode)
        reader = open_ep(root, episode, videos)
        assert reader.length == episode.length == rows.num_rows
        assert reader.cameras() == {"front": (episode.length, 96, 128), "wrist": (episode.length, 96, 128)}
        for selection in (slice(None), slice(5, 20, 3), slice(episode.length - 1, None)):
            arrays = reader.arrays(names, selection)
            assert set(arrays) == {
                "timestamp",
                "observation.state",
                "action",
                "observation.gripper",
                "task_index",
            }
            state = matrix(rows, "observation.state").astype(np.float32)
            stamps = np.array(rows["timestamp"].to_pylist(), dtype=np.float64)
            assert arrays["observation.state"].dtype == np.float32
            assert np.array_equal(arrays["observation.state"], state[selection])
            assert np.array_equal(arrays["action"], matrix(rows, "action").astype(np.float32)[selection])
            assert arrays["timestamp"].dtype == np.float64
            assert np.array_equal(arrays["timestamp"], (stamps - stamps[0])[selection])
            assert np.array_equal(arrays["observation.gripper"], state[selection][:, 6])
            assert np.array_equal(arrays["task_index"], np.array(rows["task_index"].to_pylist())[selection])
            assert np.all(arrays["task_index"] == episode.task_indexes[0])
        reader.close()


@pytest.mark.parametrize("root", [V30, V21])
def test_sample_frames_are_lerobots(root: Path, videos: VideoFileCache) -> None:
    scan = lerobot.scan(root, lerobot.Options())
    with av.open(str(root / scan.episodes[0].locator["videos"]["front"]["file"])) as container:
        assert container.streams.video[0].codec_context.name in ("libdav1d", "av1")  # LeRobot's default
    assert check_every_frame(root, scan, videos, markers=False) == 2 * 95


def test_sample_frames_in_any_order(videos: VideoFileCache) -> None:
    scan = lerobot.scan(V30, lerobot.Options())
    reader = open_ep(V30, scan.episodes[1], videos)
    forward = reader.frames("wrist", list(range(40)))
    order = [39, 0, 17, 17, 3, 38, 20]
    got = reader.frames("wrist", order)
    for frame, n in zip(got, order, strict=True):
        assert np.array_equal(frame, forward[n])
    assert got[2] is not got[3]
    assert reader.frames("wrist", []) == []
    with pytest.raises(FrameRequestError) as info:
        reader.frames("top", [0])
    assert info.value.what == "camera"
    with pytest.raises(FrameRequestError) as info:
        reader.frames("front", [40])
    assert info.value.what == "frames"


# -- generated datasets ---------------------------------------------------------------------------------


def test_encoders_present() -> None:
    # The PyAV wheel ships libx264, libx265 and libsvtav1 (AV1 is LeRobot's default), and libdav1d to read.
    assert all(gen.encoder_available(codec) for codec in ("h264", "hevc", "av1"))


GENERATED = {
    # B-frames (gop 12), several episodes per data file, per video file (not the same split) and per
    # episode table, and row groups of 7 rows that cut through episodes.
    "v30-h264": (
        gen.write_lerobot_v30,
        dict(
            codec="h264",
            gop=12,
            episodes_per_file=2,
            episodes_per_video_file=3,
            episodes_per_meta_file=2,
            rows_per_group=7,
        ),
    ),
    "v30-hevc": (gen.write_lerobot_v30, dict(codec="hevc", gop=8)),
    "v30-av1": (gen.write_lerobot_v30, dict(codec="av1")),
    "v21-h264": (gen.write_lerobot_v21, dict(codec="h264", gop=12, chunks_size=2)),
    "v21-av1": (gen.write_lerobot_v21, dict(codec="av1")),
}
LENGTHS = [12, 31, 7, 25, 18]


@pytest.fixture(scope="module", params=sorted(GENERATED))
def generated(request, tmp_path_factory) -> Path:
    write, kwargs = GENERATED[request.param]
    folder = write(tmp_path_factory.mktemp(request.param), episodes=5, length=LENGTHS, **kwargs)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # SVT-AV1 left the test run on real-time scheduling
    return folder


def test_generated_scan_and_frames(generated: Path, videos: VideoFileCache) -> None:
    scan = lerobot.scan(generated, lerobot.Options())
    assert [e.index for e in scan.episodes] == list(range(5))
    assert [e.length for e in scan.episodes] == LENGTHS
    assert scan.cameras == ["front", "wrist"] and scan.joint_names == JOINTS
    assert all(
        e.cameras == {"front": [e.length, 96, 128], "wrist": [e.length, 96, 128]} for e in scan.episodes
    )
    assert check_every_frame(generated, scan, videos, markers=True) == 2 * sum(LENGTHS)
    for episode in scan.episodes:
        reader = open_ep(generated, episode, videos)
        rows = rows_of(generated, episode)
        arrays = reader.arrays(["observation.state", "timestamp"], slice(None))
        assert np.array_equal(arrays["observation.state"], gen.state_values(episode.index, episode.length, 7))
        assert np.array_equal(
            arrays["observation.state"], matrix(rows, "observation.state").astype(np.float32)
        )
        assert np.allclose(arrays["timestamp"], np.arange(episode.length) / 30)
        reader.close()


def test_v30_files_shared_and_row_groups_crossing_episodes(tmp_path: Path) -> None:
    write, kwargs = GENERATED["v30-h264"]
    root = write(tmp_path / "ds", episodes=5, length=LENGTHS, **kwargs)
    assert len(list((root / "meta/episodes").rglob("*.parquet"))) == 3  # every table is read
    meta = pq.read_metadata(root / "data/chunk-000/file-000.parquet")
    assert meta.num_rows == 43 and [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [
        7
    ] * 6 + [1]
    scan = lerobot.scan(root, lerobot.Options())
    assert [e.file for e in scan.episodes] == [f"data/chunk-000/file-00{i // 2}.parquet" for i in range(5)]
    fronts = [e.locator["videos"]["front"] for e in scan.episodes]
    assert [f["file"][-12:] for f in fronts] == ["file-000.mp4"] * 3 + ["file-001.mp4"] * 2
    assert [f["from"] for f in fronts] == pytest.approx([0, 12 / 30, 43 / 30, 0, 25 / 30])


def test_images_in_parquet(tmp_path: Path, videos: VideoFileCache) -> None:
    for version, root in (
        (
            "v3.0",
            gen.write_lerobot_v30(
                tmp_path / "v30",
                4,
                [9, 14, 5, 11],
                images_in_parquet=True,
                episodes_per_file=3,
                rows_per_group=4,
            ),
        ),
        (
            "v2.1",
            gen.write_lerobot_v21(
                tmp_path / "v21", 3, [9, 14, 5], images_in_parquet=True, width=64, height=48
            ),
        ),
    ):
        scan = lerobot.scan(root, lerobot.Options())
        assert scan.format_version == version and scan.cameras == ["front", "wrist"]
        assert not (root / "videos").exists()
        mapping = {m.source: m for m in scan.mapping}
        assert mapping["observation.images.wrist"].target == "camera:wrist"
        assert "PNG" in mapping["observation.images.wrist"].note
        for episode in scan.episodes:
            reader = open_ep(root, episode, videos)
            rows = rows_of(root, episode)
            for number, camera in enumerate(scan.cameras, 1):
                cells = rows[f"observation.images.{camera}"].to_pylist()
                order = list(range(episode.length))[::-1]
                got = reader.frames(camera, order)
                for frame, n in zip(got, order, strict=True):
                    png = np.asarray(Image.open(io.BytesIO(cells[n]["bytes"])).convert("RGB"))
                    assert np.array_equal(frame, png)
                    assert gen.marker(frame) == (n, episode.index, number)
                assert got[0].shape == (*episode.cameras[camera][1:], 3)
            reader.close()


def test_several_tasks_extras_and_names_as_dict(tmp_path: Path, videos: VideoFileCache) -> None:
    tasks = ("stack", "unstack", "wipe")
    root = gen.write_lerobot_v30(
        tmp_path / "ds",
        4,
        20,
        cameras=("top",),
        tasks=tasks,
        tasks_per_episode=2,
        extras=True,
        names_as_dict=True,
    )
    scan = lerobot.scan(root, lerobot.Options())
    assert scan.tasks == [(0, "stack"), (1, "unstack"), (2, "wipe")]
    assert [e.task_indexes for e in scan.episodes] == [[0, 1], [1, 2], [2, 0], [0, 1]]
    assert scan.joint_names == JOINTS  # from {"motors": [...]}
    assert scan.cameras == ["top"] and scan.episodes[0].missing == []
    mapping = {m.source: m for m in scan.mapping}
    assert mapping["observation.velocity"].target == "observation.velocity"
    assert mapping["observation.ee_pose"].target == "observation.ee_pose"
    assert mapping["observation.effort"].target is None and "effort" in mapping["observation.effort"].note
    assert mapping["next.reward"].target is None and mapping["next.done"].dtype == "bool"
    episode = scan.episodes[2]
    reader = open_ep(root, episode, videos)
    rows = rows_of(root, episode)
    arrays = reader.arrays(["observation.velocity", "observation.ee_pose", "task_index"], slice(None))
    assert np.array_equal(
        arrays["observation.velocity"], matrix(rows, "observation.velocity").astype(np.float32)
    )
    assert arrays["observation.ee_pose"].dtype == np.float64 and arrays["observation.ee_pose"].shape == (
        20,
        7,
    )
    assert arrays["task_index"].tolist() == [2] * 10 + [0] * 10
    reader.close()


def test_two_grippers(tmp_path: Path, videos: VideoFileCache) -> None:
    joints = ("left_waist", "left_gripper", "right_waist", "right_gripper")
    root = gen.write_lerobot_v21(tmp_path / "ds", 2, 10, cameras=(), joints=joints)
    scan = lerobot.scan(root, lerobot.Options())
    assert scan.cameras == [] and scan.joint_names == list(joints)
    assert {m.source: m.target for m in scan.mapping}["observation.state[1,3]"] == "observation.gripper"
    reader = open_ep(root, scan.episodes[1], videos)
    arrays = reader.arrays(["observation.gripper", "observation.state"], slice(2, 6))
    assert arrays["observation.gripper"].shape == (4, 2)
    assert np.array_equal(arrays["observation.gripper"], arrays["observation.state"][:, [1, 3]])
    assert reader.cameras() == {}


def test_rows_found_by_episode_index_without_ranges(tmp_path: Path, videos: VideoFileCache) -> None:
    """Without dataset_from_index/to_index, and with a data file whose episodes are out of order, the rows
    are the ones whose episode_index is the episode's."""
    root = gen.write_lerobot_v30(tmp_path / "ds", 3, [8, 13, 6], cameras=("front",), rows_per_group=5)
    table_path = root / "meta/episodes/chunk-000/file-000.parquet"
    rewrite(table_path, lambda t: t.drop_columns(["dataset_from_index", "dataset_to_index"]))
    data = root / "data/chunk-000/file-000.parquet"
    rewrite(data, lambda t: pa.concat_tables([t.slice(21), t.slice(0, 21)]))  # episode 2 first
    scan = lerobot.scan(root, lerobot.Options())
    assert [e.locator["rows"] for e in scan.episodes] == [None, None, None]
    check_every_frame(root, scan, videos, markers=True)
    for episode in scan.episodes:
        arrays = open_ep(root, episode, videos).arrays(["observation.state"], slice(None))
        assert np.array_equal(arrays["observation.state"], gen.state_values(episode.index, episode.length, 7))


def test_wrong_row_range_is_corrected(tmp_path: Path, videos: VideoFileCache) -> None:
    root = gen.write_lerobot_v30(tmp_path / "ds", 3, [8, 13, 6], cameras=())
    data = root / "data/chunk-000/file-000.parquet"
    rewrite(data, lambda t: pa.concat_tables([t.slice(8, 13), t.slice(0, 8), t.slice(21)]))  # 1, 0, 2
    scan = lerobot.scan(root, lerobot.Options())
    assert scan.episodes[0].locator["rows"] == [0, 8]  # one row group: its statistics cannot tell
    for episode in scan.episodes:
        arrays = open_ep(root, episode, videos).arrays(["observation.state"], slice(None))
        assert np.array_equal(arrays["observation.state"], gen.state_values(episode.index, episode.length, 7))


def test_episodes_sorted_numerically(tmp_path: Path) -> None:
    root = gen.write_lerobot_v21(tmp_path / "v21", 12, 3, cameras=(), stats=False)
    lines = (root / "meta/episodes.jsonl").read_text().splitlines()
    (root / "meta/episodes.jsonl").write_text("\n".join(lines[::-1]) + "\n")
    assert [e.index for e in lerobot.scan(root, lerobot.Options()).episodes] == list(range(12))
    root = gen.write_lerobot_v30(tmp_path / "v30", 12, 3, cameras=(), episodes_per_meta_file=5, stats=False)
    files = sorted((root / "meta/episodes").rglob("*.parquet"))
    assert len(files) == 3
    for path in files:
        rewrite(path, lambda t: t.take(pa.array(range(t.num_rows - 1, -1, -1))))
    assert [e.index for e in lerobot.scan(root, lerobot.Options()).episodes] == list(range(12))


def test_v21_rescan_reads_changed_files_only(tmp_path: Path, monkeypatch) -> None:
    root = gen.write_lerobot_v21(tmp_path / "ds", 4, 6, cameras=("front",), stats=False)
    first = lerobot.scan(root, lerobot.Options())
    read: list[str] = []
    original = lerobot_v21.footer
    monkeypatch.setattr(lerobot_v21, "footer", lambda path: read.append(path.name) or original(path))
    again = lerobot.scan(root, lerobot.Options(), previous={e.file: e for e in first.episodes})
    assert read == ["episode_000000.parquet"]  # the first only, for the data files' columns
    assert [e.length for e in again.episodes] == [6] * 4
    changed = root / first.episodes[2].file
    rewrite(changed, lambda t: t.slice(0, 5))
    read.clear()
    raises(
        lambda: lerobot.scan(root, lerobot.Options(), previous={e.file: e for e in first.episodes}),
        changed,
        "episode_index",
    )
    assert read == ["episode_000000.parquet", "episode_000002.parquet"]


def test_generator_many_episodes(tmp_path: Path, videos: VideoFileCache) -> None:
    root = gen.write_lerobot_v30(tmp_path / "ds", 120, 4, width=64, height=48, episodes_per_file=50)
    scan = lerobot.scan(root, lerobot.Options())
    assert len(scan.episodes) == 120 and {e.file for e in scan.episodes} == {
        f"data/chunk-000/file-00{i}.parquet" for i in range(3)
    }
    for episode in (scan.episodes[0], scan.episodes[77], scan.episodes[119]):
        reader = open_ep(root, episode, videos)
        frames = reader.frames("wrist", [3, 0])
        assert [gen.marker(f) for f in frames] == [(3, episode.index, 2), (0, episode.index, 2)]
        reader.close()


# -- time and tolerance ------------------------------------------------------------------------------------


def shifted(root: Path, seconds: float) -> None:
    for path in (root / "data").rglob("*.parquet"):
        rewrite(
            path,
            lambda t: t.set_column(
                t.schema.get_field_index("timestamp"),
                "timestamp",
                pc.add(t["timestamp"], pa.scalar(seconds, pa.float32())),
            ),
        )


def test_frames_by_time_within_tolerance(tmp_path: Path, videos: VideoFileCache) -> None:
    root = gen.write_lerobot_v21(tmp_path / "ds", 2, 10, cameras=("front",), gop=4)
    shifted(root, 0.4 / 30)  # every row 0.4 frame late: the nearest frame is still its own
    # LeRobot's default (1e-4 s) refuses such a file, as LeRobotDataset does; a looser tolerance reads it.
    default = lerobot.scan(root, lerobot.Options())
    error = raises(
        lambda: open_ep(root, default.episodes[1], videos).frames("front", [0]),
        root / default.episodes[1].locator["videos"]["front"]["file"],
    )
    assert "no frame within 0.000100 s" in error.problem
    scan = lerobot.scan(root, lerobot.Options(tolerance_s=0.5 / 30))
    reader = open_ep(root, scan.episodes[1], videos)
    assert [gen.marker(f)[0] for f in reader.frames("front", range(10))] == list(range(10))
    assert np.allclose(reader.arrays(["timestamp"], slice(None))["timestamp"], np.arange(10) / 30)
    strict = lerobot.scan(root, lerobot.Options(tolerance_s=0.2 / 30))
    reader = open_ep(root, strict.episodes[1], videos)
    error = raises(
        lambda: reader.frames("front", [3]), root / strict.episodes[1].locator["videos"]["front"]["file"]
    )
    assert error.where == "observation.images.front" and f"{3.4 / 30:.6f} s" in error.problem


def test_video_shorter_than_episode(tmp_path: Path, videos: VideoFileCache) -> None:
    root = gen.write_lerobot_v21(tmp_path / "ds", 2, 12, cameras=("front",))
    short = gen.write_lerobot_v21(tmp_path / "short", 2, 9, cameras=("front",))
    video = "videos/chunk-000/observation.images.front/episode_000001.mp4"
    shutil.copyfile(short / video, root / video)
    scan = lerobot.scan(root, lerobot.Options())
    reader = open_ep(root, scan.episodes[1], videos)
    assert [gen.marker(f)[0] for f in reader.frames("front", [0, 8])] == [0, 8]
    # Frame 9's nearest is frame 8, a whole frame away: past LeRobot's tolerance, so an error, not frame 8.
    error = raises(lambda: reader.frames("front", [9]), root / video, "observation.images.front")
    assert "no frame within" in error.problem and f"{9 / 30:.6f} s" in error.problem


# -- broken copies --------------------------------------------------------------------------------------


def test_info_json_errors(tmp_path: Path) -> None:
    root = copy_tree(V30, tmp_path / "ds")
    info = root / "meta/info.json"
    raises(lambda: lerobot.scan(info, lerobot.Options()), info)  # a file, not the folder
    text = info.read_text()
    info.write_text(text[:-20])
    raises(lambda: lerobot.scan(root, lerobot.Options()), info)
    info.write_text(text)
    edit_json(
        info, lambda d: d["features"].__setitem__("observation.torque", {"dtype": "complex128", "shape": [7]})
    )
    raises(lambda: lerobot.scan(root, lerobot.Options()), info, "features/observation.torque/dtype")
    info.write_text(text)
    edit_json(info, lambda d: d["features"]["observation.state"].__setitem__("dtype", "string"))
    raises(lambda: lerobot.scan(root, lerobot.Options()), info, "features/observation.state/dtype")
    info.write_text(text)
    edit_json(info, lambda d: d.__setitem__("codebase_version", "v1.6"))
    raises(lambda: lerobot.scan(root, lerobot.Options()), info, "codebase_version")
    info.write_text(text)
    edit_json(
        info,
        lambda d: d["features"]["observation.images.front"]["info"].__setitem__("video.codec", "nosuchcodec"),
    )
    raises(
        lambda: lerobot.scan(root, lerobot.Options()),
        info,
        "features/observation.images.front/info/video.codec",
    )
    info.unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), info)


def test_v30_metadata_errors(tmp_path: Path) -> None:
    root = copy_tree(V30, tmp_path / "ds")
    table = root / "meta/episodes/chunk-000/file-000.parquet"
    original = table.read_bytes()
    rewrite(table, lambda t: t.drop_columns(["data/file_index"]))
    raises(lambda: lerobot.scan(root, lerobot.Options()), table, "data/file_index")
    table.write_bytes(original)
    key = "videos/observation.images.wrist/to_timestamp"
    rewrite(
        table,
        lambda t: t.set_column(t.schema.get_field_index(key), key, pa.array([1.0, 1.5, 3.1666666666666665])),
    )
    error = raises(lambda: lerobot.scan(root, lerobot.Options()), table, key)
    assert "episode 1" in error.problem and "wrist" in error.problem
    table.write_bytes(original)
    shutil.rmtree(root / "meta/episodes")
    raises(lambda: lerobot.scan(root, lerobot.Options()), root / "meta/episodes")
    (root / "meta/tasks.parquet").unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), root / "meta/tasks.parquet")


def test_v30_data_file_missing_rows(tmp_path: Path, videos: VideoFileCache) -> None:
    root = copy_tree(V30, tmp_path / "ds")
    data = root / "data/chunk-000/file-000.parquet"
    original = data.read_bytes()
    rewrite(data, lambda t: pa.concat_tables([t.slice(0, 60), t.slice(70)]))  # 10 rows of episode 1 gone
    raises(lambda: lerobot.scan(root, lerobot.Options()), data, "episode_index")
    data.write_bytes(original)
    scan = lerobot.scan(root, lerobot.Options())

    def relabel(t: pa.Table) -> pa.Table:  # as many rows, but the last 5 of episode 1 now say episode 7
        labels = np.array(t["episode_index"].to_pylist())
        labels[65:70] = 7
        return t.set_column(t.schema.get_field_index("episode_index"), "episode_index", pa.array(labels))

    rewrite(data, relabel)
    error = raises(lambda: open_ep(root, scan.episodes[1], videos), data, "episode_index")
    assert "35 rows of episode 1" in error.problem
    data.unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), data)


def test_v30_video_missing_or_broken(tmp_path: Path, videos: VideoFileCache) -> None:
    root = copy_tree(V30, tmp_path / "ds")
    video = root / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    scan = lerobot.scan(root, lerobot.Options())
    video.write_bytes(b"not a video at all" * 100)
    reader = open_ep(root, scan.episodes[0], videos)
    assert len(reader.frames("front", [0])) == 1
    raises(lambda: reader.frames("wrist", [0]), video, "observation.images.wrist")
    video.unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), video, "observation.images.wrist")


def test_v21_errors(tmp_path: Path) -> None:
    root = copy_tree(V21, tmp_path / "ds")
    data = root / "data/chunk-000/episode_000001.parquet"
    original = data.read_bytes()
    rewrite(data, lambda t: t.slice(0, 33))
    error = raises(lambda: lerobot.scan(root, lerobot.Options()), data, "episode_index")
    assert "rows are missing" in error.problem
    data.write_bytes(original)
    video = root / "videos/chunk-000/observation.images.front/episode_000002.mp4"
    video.unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), video, "observation.images.front")
    shutil.copyfile(V21 / "videos/chunk-000/observation.images.front/episode_000002.mp4", video)
    episodes = root / "meta/episodes.jsonl"
    text = episodes.read_text()
    episodes.write_text(text.replace("put the cube in the bowl", "juggle"))
    raises(lambda: lerobot.scan(root, lerobot.Options()), episodes, "line 2")
    episodes.write_text(text.replace('"length": 40', '"length": "forty"'))
    raises(lambda: lerobot.scan(root, lerobot.Options()), episodes, "line 2")
    episodes.write_text("")
    raises(lambda: lerobot.scan(root, lerobot.Options()), episodes)
    episodes.write_text(text)
    (root / "meta/tasks.jsonl").unlink()
    raises(lambda: lerobot.scan(root, lerobot.Options()), root / "meta/tasks.jsonl")


def test_shared_row_group_read_once(tmp_path: Path, videos: VideoFileCache, monkeypatch) -> None:
    """A data file written as one row group (as LeRobot's v2.1 -> v3.0 converter leaves them) is read once
    for all its episodes, not once per episode; each reader keeps only its own rows."""
    root = gen.write_lerobot_v30(tmp_path / "ds", 6, [5, 9, 4, 7, 8, 6], cameras=(), rows_per_group=10**6)
    assert pq.read_metadata(root / "data/chunk-000/file-000.parquet").num_row_groups == 1
    scan = lerobot.scan(root, lerobot.Options())
    reads: list[tuple] = []
    original = pq.ParquetFile.read_row_group
    monkeypatch.setattr(
        pq.ParquetFile,
        "read_row_group",
        lambda self, g, columns=None, **kw: (
            reads.append((g, *columns)) or original(self, g, columns=columns, **kw)
        ),
    )
    for episode in scan.episodes:
        reader = open_ep(root, episode, videos)
        state = reader.arrays(["observation.state"], slice(None))["observation.state"]
        assert np.array_equal(state, gen.state_values(episode.index, episode.length, 7))
        assert reader._table.num_rows == episode.length
        reader.close()
    assert sorted(reads) == sorted(
        (0, c) for c in ("episode_index", "timestamp", "action", "observation.state", "task_index")
    )


def test_generator_is_deterministic(tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first = digest(gen.write_lerobot_v30(tmp_path / "a", 3, 6, codec="h264", gop=4, episodes_per_file=2))
    second = digest(gen.write_lerobot_v30(tmp_path / "b", 3, 6, codec="h264", gop=4, episodes_per_file=2))
    assert first == second and any(name.endswith(".mp4") for name in first)
