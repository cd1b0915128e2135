"""Video files as episodes: probing by content, exact counts, frame access by index with real seeking."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import av
import h5py
import numpy as np
import pytest
from PIL import Image

from persistence import video_index
from persistence.video_files import VideoFileCache, frame_times, probe_video
from persistence.video_index import VideoError, sniff_video

WIDTH, HEIGHT = 64, 48
GOP = 12
# The index is written as 8 flat blocks (4 columns x 2 rows of 16 x 24 pixels), one base-4 digit each,
# grey levels 32 / 96 / 160 / 224: far enough apart to survive lossy compression.
LEVELS = 4


def pixels(index: int) -> np.ndarray:
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for digit in range(8):
        row, col = divmod(digit, 4)
        value = (index // LEVELS**digit) % LEVELS
        img[row * 24 : (row + 1) * 24, col * 16 : (col + 1) * 16] = 32 + 64 * value
    return img


def identify(img: np.ndarray) -> int:
    """The index written by `pixels`, read from the middle of each block."""
    index = 0
    for digit in range(8):
        row, col = divmod(digit, 4)
        block = img[row * 24 + 6 : (row + 1) * 24 - 6, col * 16 + 4 : (col + 1) * 16 - 4]
        index += int(np.clip(round((float(block.mean()) - 32) / 64), 0, 3)) * LEVELS**digit
    return index


def write_video(
    path: Path, codec: str, frames: int, *, b_frames: int = 0, options: dict | None = None, fps: int = 30
) -> Path:
    container = av.open(str(path), "w", options=options or {})
    stream = container.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.gop_size = GOP
    stream.codec_context.max_b_frames = b_frames
    for i in range(frames):
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels(i), format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def sequential_decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def keyframe_positions(path: Path) -> list[int]:
    """Frame indices (presentation order) of the keyframes, straight from PyAV."""
    with av.open(str(path)) as container:
        packets = [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size]
    order = sorted(pts for pts, _ in packets)
    return sorted(order.index(pts) for pts, key in packets if key)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        # MPEG-4 part 2 in MP4, no B-frames: the simplest case, 300 frames.
        "mp4": write_video(folder / "clip.mp4", "mpeg4", 300),
        # H.264 with B-frames: packets out of presentation order, an MP4 index by dts.
        "h264": write_video(folder / "clip_b.mp4", "libx264", 200, b_frames=3),
        # Matroska: no frame count in the header, a time base of milliseconds.
        "mkv": write_video(folder / "clip.mkv", "libx264", 150, b_frames=2),
        # The sample table before the data, as phones and web encoders write it.
        "faststart": write_video(folder / "fast.mp4", "mpeg4", 120, options={"movflags": "faststart"}),
        "avi": write_video(folder / "clip.avi", "mpeg4", 120, b_frames=2),
    }


def test_pixels_round_trip_before_encoding():
    assert [identify(pixels(i)) for i in (0, 1, 5, 123, 299, 4095)] == [0, 1, 5, 123, 299, 4095]


@pytest.mark.parametrize(
    ("name", "frames", "codec", "container"),
    [
        ("mp4", 300, "mpeg4", "mp4"),
        ("h264", 200, "h264", "mp4"),
        ("mkv", 150, "h264", "matroska"),
        ("faststart", 120, "mpeg4", "mp4"),
        ("avi", 120, "mpeg4", "avi"),
    ],
)
def test_probe_reports_exact_count_and_fps(videos, name, frames, codec, container):
    info = probe_video(videos[name])
    assert (info.frames, info.width, info.height, info.codec, info.container) == (
        frames,
        WIDTH,
        HEIGHT,
        codec,
        container,
    )
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(frames / 30.0, abs=1e-3)
    assert info.frames == len(sequential_decode(videos[name]))


def test_matroska_header_has_no_frame_count_yet_the_count_is_exact(videos):
    with av.open(str(videos["mkv"])) as container:
        assert container.streams.video[0].frames == 0  # so probe_video must have counted packets
    assert probe_video(videos["mkv"]).frames == 150


@pytest.mark.parametrize("name", ["mp4", "h264", "mkv"])
def test_frame_times_are_in_presentation_order(videos, name):
    times = frame_times(videos[name])
    assert len(times) == probe_video(videos[name]).frames
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times - times[0], np.arange(len(times)) / 30.0, atol=1e-3)


@pytest.mark.parametrize("name", ["mp4", "h264", "mkv", "faststart", "avi"])
def test_random_reads_equal_sequential_decode(videos, name):
    reference = sequential_decode(videos[name])
    assert [identify(f) for f in reference] == list(range(len(reference)))
    n = len(reference)
    cache = VideoFileCache()
    rng = random.Random(7)
    # Forward and backward jumps, neighbours, both ends, repeats.
    order = [n - 1, 0, n // 2, n // 2 - 1, n // 2 + 1, 3, n - 2, GOP, GOP - 1, 5, 5]
    order += rng.sample(range(n), 40)
    for i in order:
        frame = cache.read_frame(videos[name], i)
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
        assert identify(frame) == i
        assert np.array_equal(frame, reference[i]), f"frame {i} differs from the sequential decode"
    cache.close()


@pytest.mark.parametrize("name", ["mp4", "h264"])
def test_reading_the_last_frame_seeks_instead_of_decoding_from_the_start(videos, name):
    cache = VideoFileCache()
    last = probe_video(videos[name]).frames - 1
    assert identify(cache.read_frame(videos[name], last)) == last
    # At most one GOP (plus what B-frames hold back), not the ~200-300 frames before it.
    assert 0 < cache.decoded_frames < 2 * GOP
    before = cache.decoded_frames
    assert identify(cache.read_frame(videos[name], 2)) == 2
    assert cache.decoded_frames - before < 2 * GOP
    cache.close()


@pytest.mark.parametrize("name", ["mp4", "h264", "mkv"])
def test_sequential_reads_do_not_seek_again(videos, name):
    n = probe_video(videos[name]).frames
    cache = VideoFileCache()
    for i in range(n):
        assert identify(cache.read_frame(videos[name], i)) == i
    assert cache.seeks == 1
    assert cache.decoded_frames == n
    cache.close()


def test_read_frames_unsorted_decodes_each_gop_once(videos):
    path = videos["mp4"]
    keys = keyframe_positions(path)
    assert keys[:3] == [0, GOP, 2 * GOP]
    wanted = [250, 3, 3, 120, 7, 299, 0, 121, 251, 11]
    cache = VideoFileCache()
    frames = cache.read_frames(path, wanted)
    assert [identify(f) for f in frames] == wanted
    assert frames[1] is not frames[2] and np.array_equal(frames[1], frames[2])
    gops = {max(k for k in keys if k <= i) for i in wanted}
    assert cache.seeks == len(gops)
    # Each GOP is decoded from its keyframe up to the last frame wanted in it, once.
    assert cache.decoded_frames == sum(
        max(i for i in wanted if max(k for k in keys if k <= i) == g) - g + 1 for g in gops
    )
    cache.close()


def test_a_seek_that_lands_past_the_frame_is_retried_from_earlier(videos, monkeypatch):
    """Demuxers that index by dts, or coarsely, can land after the frame asked for: simulated here by
    seeking to the keyframe after the frame's own."""
    keys = keyframe_positions(videos["h264"])
    real = video_index.Index.keyframe_before

    def too_late(self, pts: int) -> int:
        after = self.keyframes[self.keyframes > pts]
        return int(after[0]) if len(after) else real(self, pts)

    monkeypatch.setattr(video_index.Index, "keyframe_before", too_late)
    cache = VideoFileCache()
    for i in (keys[3] - 1, keys[1] + 2, 0):
        assert identify(cache.read_frame(videos["h264"], i)) == i
    assert cache.seeks >= 6  # each read seeked twice: to the late keyframe, then to its own
    cache.close()


def test_out_of_range_index(videos):
    cache = VideoFileCache()
    for bad in (300, 10_000, -1):
        with pytest.raises(IndexError, match=rf"frame {bad} out of range: .* has 300 frames \(0\.\.299\)"):
            cache.read_frame(videos["mp4"], bad)
    with pytest.raises(IndexError):
        cache.read_frames(videos["mp4"], [0, 300])
    assert identify(cache.read_frame(videos["mp4"], 299)) == 299  # the cache still works
    cache.close()


def test_threads_and_eviction(videos):
    """Several threads reading several files through a cache smaller than the set of files."""
    cache = VideoFileCache(size=2)
    names = ["mp4", "h264", "mkv", "avi"]
    lengths = {name: probe_video(videos[name]).frames for name in names}
    errors: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            name = rng.choice(names)
            i = rng.randrange(lengths[name])
            found = identify(cache.read_frame(videos[name], i))
            if found != i:
                errors.append(f"{name} frame {i} read as {found}")

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cache.close()


def test_a_file_replaced_on_disk_is_reopened(tmp_path):
    path = write_video(tmp_path / "v.mp4", "mpeg4", 40)
    cache = VideoFileCache()
    assert identify(cache.read_frame(path, 39)) == 39
    write_video(tmp_path / "w.mp4", "mpeg4", 60).replace(path)
    assert identify(cache.read_frame(path, 59)) == 59
    cache.close()


def cut(path: Path, out: Path, keep: float) -> Path:
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


@pytest.mark.parametrize("name", ["mp4", "h264", "mkv", "faststart", "avi"])
def test_truncated_files_are_refused(videos, name, tmp_path):
    path = cut(videos[name], tmp_path / f"cut{videos[name].suffix}", 2 / 3)
    with pytest.raises(VideoError, match="truncated") as raised:
        probe_video(path)
    assert raised.value.path == str(path)


def test_truncated_problems_are_specific(videos, tmp_path):
    # The MP4 index (moov) is written last: without it nothing can be read.
    with pytest.raises(VideoError, match="not a video or truncated: unreadable mp4"):
        probe_video(cut(videos["mp4"], tmp_path / "a.mp4", 2 / 3))
    # Matroska declares its duration up front; the frames present cover two thirds of it.
    with pytest.raises(VideoError, match=r"truncated: the header declares 5\.000 s"):
        probe_video(cut(videos["mkv"], tmp_path / "b.mkv", 2 / 3))
    # AVI declares its frame count up front; a cut inside a frame's data is seen first.
    with pytest.raises(
        VideoError, match="truncated(: the header declares 120 frames| or damaged: frame data cut)"
    ):
        probe_video(cut(videos["avi"], tmp_path / "c.avi", 2 / 3))


def test_non_videos_are_refused(tmp_path):
    png = tmp_path / "image.mp4"  # the name says video, the content does not
    Image.fromarray(pixels(1)).save(png, format="PNG")
    text = tmp_path / "notes.txt"  # FFmpeg alone would open this as an ANSI-art "video"
    text.write_text("hello world\n" * 100)
    hdf5 = tmp_path / "episode.mkv"
    with h5py.File(hdf5, "w") as f:
        f["timestamp"] = np.arange(10.0)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path, problem in [
        (png, "not a video"),
        (text, "not a video"),
        (hdf5, "not a video"),
        (empty, "empty"),
    ]:
        with pytest.raises(VideoError, match=problem):
            probe_video(path)
        with pytest.raises(VideoError):
            VideoFileCache().read_frame(path, 0)
    with pytest.raises(VideoError, match="no such file"):
        probe_video(tmp_path / "missing.mp4")


def test_an_mp4_without_video_is_refused(tmp_path):
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert sniff_video(path.read_bytes()[:64]) == "mp4"
    with pytest.raises(VideoError, match="no video stream"):
        probe_video(path)


def test_a_file_with_a_video_head_and_garbage_after_is_refused(tmp_path, videos):
    path = tmp_path / "fake.mp4"
    path.write_bytes(videos["mp4"].read_bytes()[:32] + bytes(range(256)) * 40)
    with pytest.raises(VideoError):
        probe_video(path)


def test_sniff_video(videos, tmp_path):
    heads = {name: path.read_bytes()[:64] for name, path in videos.items()}
    assert sniff_video(heads["mp4"]) == "mp4"
    assert sniff_video(heads["faststart"]) == "mp4"
    assert sniff_video(heads["mkv"]) == "matroska"
    assert sniff_video(heads["avi"]) == "avi"
    assert sniff_video(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm") == "webm"
    assert sniff_video(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00") == "mov"
    png = tmp_path / "i.png"
    Image.fromarray(pixels(0)).save(png)
    assert sniff_video(png.read_bytes()[:64]) is None
    assert sniff_video(b"hello world, this is text") is None
    assert sniff_video(b"\x89HDF\r\n\x1a\n" + bytes(56)) is None
    assert sniff_video(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_video(b"") is None
