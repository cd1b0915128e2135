"""Issue 15, "the frame shown must be the frame annotated": frame n of a video is the n-th picture that
decoding every packet in order shows (PyAV, the reference), turned as a player turns it, for the field
cases (tests/field_cases/video) and for other inputs of each kind generated here."""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from persistence import video_files
from persistence.episode_sources.video import VideoEpisode
from persistence.video_decode import read_index, sidecar, write_index
from persistence.video_files import VideoFileCache, frame_times, probe_video
from persistence.video_index import VideoError
from tests.persistence.video_cases import (
    FIELD_CASES,
    HEIGHT,
    WIDTH,
    cut_leading,
    index_of,
    red_corner,
    reference,
    upright,
    write_resized,
    write_video,
)


@dataclass(frozen=True)
class Case:
    """What a player shows: `frames` pictures (None: as many as decoding in order shows), their indexes
    starting at `first_index` (None: whatever the reference shows), the red block in `corner`, turned by
    `turns` quarter turns counterclockwise, at `fps`, the file's own times starting at `start` s."""

    path: Path
    frames: int | None
    size: tuple[int, int]  # (width, height) as displayed
    first_index: int | None = 0
    corner: str = "bottom-left"
    turns: int = 0
    fps: float = 10.0
    start: float | None = 0.0
    skipped: int | None = 0


def _field(name: str) -> Path:
    return FIELD_CASES / name


FIELD = {
    # H.264 with B-frames in AVI: packets carry no presentation times, the decoder's order is the truth.
    "h264_bframes.avi": Case(_field("h264_bframes.avi"), 30, (WIDTH, HEIGHT)),
    # A display matrix that turns the picture a quarter counterclockwise: portrait, as ffmpeg shows it.
    "rotated_90.mp4": Case(_field("rotated_90.mp4"), 10, (HEIGHT, WIDTH), corner="bottom-right", turns=1),
    # Cut without its first keyframe: 5 packets before it cannot be decoded; pictures 18..39 can.
    "no_leading_keyframe.mkv": Case(_field("no_leading_keyframe.mkv"), 22, (WIDTH, HEIGHT), 18, start=0.5,
                                    skipped=5),
    # Times from 0.5 s: a whole file, whose episode time counts from its first frame.
    "start_offset_0.5s.mkv": Case(_field("start_offset_0.5s.mkv"), 10, (WIDTH, HEIGHT), start=0.5),
    "start_offset_0.5s.mp4": Case(_field("start_offset_0.5s.mp4"), 10, (WIDTH, HEIGHT), start=0.5),
}


def _generated(folder: Path) -> dict[str, Case]:
    full_avi = write_video(folder / "full.avi", 40, gop=10)
    full_mp4 = write_video(folder / "full.mp4", 40, gop=10)
    return {
        # B-frame AVIs of other lengths, GOPs, B-frame runs and rates.
        "bframes_17.avi": Case(write_video(folder / "b17.avi", 17, gop=5), 17, (WIDTH, HEIGHT)),
        "bframes_41_25fps.avi": Case(write_video(folder / "b41.avi", 41, gop=12, b_frames=2, fps=25), 41,
                                     (WIDTH, HEIGHT), fps=25.0),
        "mpeg4_bframes.avi": Case(write_video(folder / "m4.avi", 30, codec="mpeg4", gop=9, b_frames=2), 30,
                                  (WIDTH, HEIGHT)),
        # Other display matrices: a quarter turn clockwise, a half turn, in MP4 and Matroska.
        "rotated_270.mp4": Case(write_video(folder / "r270.mp4", 12, rotation=270), 12, (HEIGHT, WIDTH),
                                corner="top-left", turns=3),
        "rotated_270.mkv": Case(write_video(folder / "r270.mkv", 12, rotation=270), 12, (HEIGHT, WIDTH),
                                corner="top-left", turns=3),
        "rotated_180.mp4": Case(write_video(folder / "r180.mp4", 12, rotation=180), 12, (WIDTH, HEIGHT),
                                corner="top-right", turns=2),
        "rotated_90.mkv": Case(write_video(folder / "r90.mkv", 12, rotation=90), 12, (HEIGHT, WIDTH),
                               corner="bottom-right", turns=1),
        # Cut before a keyframe, in each container (an AVI's cut keeps the dropped packets' slots).
        "cut_3.avi": Case(cut_leading(full_avi, folder / "cut3.avi", 3), None, (WIDTH, HEIGHT), None,
                          start=None, skipped=None),
        "cut_5.mkv": Case(cut_leading(full_mp4, folder / "cut5.mkv", 5), None, (WIDTH, HEIGHT), None,
                          start=None, skipped=None),
        "cut_12.mp4": Case(cut_leading(full_mp4, folder / "cut12.mp4", 12), None, (WIDTH, HEIGHT), None,
                           start=None, skipped=None),
        # Times from 1.72 s at 25 fps (MP4), from 0.25 s at 20 fps (Matroska).
        "offset_1.72s.mp4": Case(write_video(folder / "o172.mp4", 15, fps=25, first=43), 15, (WIDTH, HEIGHT),
                                 43, fps=25.0, start=1.72),
        "offset_0.25s.mkv": Case(write_video(folder / "o025.mkv", 15, fps=20, first=5), 15, (WIDTH, HEIGHT),
                                 5, fps=20.0, start=0.25),
    }


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {**FIELD, **_generated(tmp_path_factory.mktemp("kinds"))}


NAMES = [*FIELD, "bframes_17.avi", "bframes_41_25fps.avi", "mpeg4_bframes.avi", "rotated_270.mp4",
         "rotated_270.mkv", "rotated_180.mp4", "rotated_90.mkv", "cut_3.avi", "cut_5.mkv", "cut_12.mp4",
         "offset_1.72s.mp4", "offset_0.25s.mkv"]


def test_every_kind_is_named(cases):
    assert sorted(NAMES) == sorted(cases)


@pytest.mark.parametrize("name", NAMES)
def test_probe_reports_what_a_player_shows(cases, name):
    case = cases[name]
    ref = reference(case.path)
    info = probe_video(case.path)
    assert info.frames == len(ref.stored) == (case.frames or len(ref.stored))
    assert (info.width, info.height) == case.size == (ref.shown[0].shape[1], ref.shown[0].shape[0])
    assert info.fps == pytest.approx(case.fps)
    assert info.duration == pytest.approx(info.frames / case.fps, abs=1e-6)
    if case.skipped is not None:
        assert info.skipped == case.skipped


@pytest.mark.parametrize("name", NAMES)
def test_every_frame_is_the_picture_decoding_in_order_shows(cases, name):
    case = cases[name]
    ref = reference(case.path)
    indexes = [index_of(img) for img in ref.stored]
    start = case.first_index if case.first_index is not None else indexes[0]
    assert indexes == list(range(start, start + len(indexes)))  # the reference itself: consecutive
    if case.frames is None:  # a cut: some leading packets gave no picture
        assert start > 0 and probe_video(case.path).skipped > 0
    cache = VideoFileCache()
    n = len(ref.stored)
    # In order (decoding forward), backwards and shuffled (a seek to a keyframe each time).
    order = [*range(n), *reversed(range(n)), *random.Random(15).sample(range(n), n)]
    for i in order:
        shown = cache.read_frame(case.path, i, display=True)
        assert shown.shape == ref.shown[i].shape, (name, i)
        assert np.abs(shown.astype(int) - ref.shown[i].astype(int)).mean() < 1.0, (name, i)
        assert index_of(upright(shown, case.turns)) == indexes[i], (name, i)
        assert red_corner(shown) == case.corner, (name, i)
        stored = cache.read_frame(case.path, i)  # as stored: LeRobot's decoders do not turn pictures
        np.testing.assert_array_equal(stored, ref.stored[i])
    cache.close()


@pytest.mark.parametrize("name", NAMES)
def test_episode_time_counts_from_the_first_frame(cases, name):
    case = cases[name]
    times = frame_times(case.path)
    n = len(times)
    if case.start is not None:
        assert times[0] == pytest.approx(case.start, abs=1e-3)  # the file's own times, as stored
    cache = VideoFileCache()
    episode = VideoEpisode(case.path, cache)
    stamps = episode.arrays(["timestamp"], slice(None))["timestamp"]
    np.testing.assert_allclose(stamps, np.arange(n) / case.fps, atol=1e-3)
    assert episode.cameras() == {"video": (n, case.size[1], case.size[0])}
    cache.close()


def test_a_turned_and_mirrored_picture_is_shown_as_its_writer_asked(tmp_path):
    """Display matrices with mirrors: the picture turned counterclockwise, then mirrored (PyAV's
    `set_display_rotation`), which is what ffmpeg's autorotation filters do."""
    for turn in (0, 90, 180, 270):
        path = write_video(tmp_path / f"m{turn}.mp4", 3, rotation=turn, hflip=True)
        ref = reference(path)
        cache = VideoFileCache()
        for i in range(3):
            expected = np.ascontiguousarray(np.rot90(ref.stored[i], turn // 90)[:, ::-1])
            np.testing.assert_array_equal(cache.read_frame(path, i, display=True), expected)
        cache.close()
        info = probe_video(path)
        assert (info.width, info.height) == (expected.shape[1], expected.shape[0])


def test_a_rotation_other_than_quarter_turns_is_refused(tmp_path):
    path = write_video(tmp_path / "tilted.mp4", 3, rotation=45)
    with pytest.raises(VideoError, match="turns the picture 315 degrees clockwise; only quarter turns"):
        probe_video(path)


def test_a_picture_size_that_changes_is_refused(tmp_path):
    """Frames of one camera have one size (boxes, exports and the reported size rely on it)."""
    path = write_resized(tmp_path / "joined.avi")
    assert {img.shape for img in reference(path).stored} == {(HEIGHT, WIDTH, 3), (HEIGHT // 2, WIDTH // 2, 3)}
    with pytest.raises(VideoError, match="the picture changes at frame 6 from 64 x 48 to 32 x 24"):
        probe_video(path)


def test_an_accepted_video_is_not_decoded_again_to_be_indexed(cases, tmp_path, monkeypatch):
    """An AVI can be indexed only by decoding it; the index found when it was accepted is kept beside it."""
    path = tmp_path / "kept.avi"
    shutil.copy(cases["h264_bframes.avi"].path, path)
    info = probe_video(path)
    write_index(path, info.index)
    assert sidecar(path).name == "kept.avi.frames.npz"
    kept = read_index(path)
    assert kept is not None and np.array_equal(kept.pts, info.index.pts)

    def no_decoding(path):
        raise AssertionError("decoded the whole file to index it")

    monkeypatch.setattr(video_files, "decode_all", no_decoding)
    cache = VideoFileCache()
    assert [index_of(cache.read_frame(path, i)) for i in (29, 3, 17, 0)] == [29, 3, 17, 0]
    assert cache.decoded_frames < 30
    cache.close()

    # A file changed since: its kept index no longer fits it and is ignored.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert read_index(path) is None


def test_without_a_kept_index_an_avi_is_indexed_by_decoding_it(cases):
    path = cases["bframes_17.avi"].path
    found = probe_video(path).index
    assert found.sources is not None  # B-frames: the packets' slots are not the pictures' order
    cache = VideoFileCache()
    assert not sidecar(path).exists()
    np.testing.assert_array_equal(cache.frame_times(path), found.seconds())
    assert cache.decoded_frames == 0  # indexing decoded no frame for serving
    assert [index_of(f) for f in cache.read_frames(path, [16, 0, 8])] == [16, 0, 8]
    cache.close()
