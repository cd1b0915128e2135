"""Random access to frames of a video file: `VideoFileCache.read_frame` (seek to the keyframe, decode
forward) against decoding from the start up to each frame (the naive way), and against one sequential
decode pass over the whole file.

    .venv/bin/python -m bench.video [--frames 3000] [--gop 30] [--reads 200] [--codec libx264]

The video is generated in a temporary folder: 320x240 at 30 fps, a moving pattern with noise so that
the encoder has real work. Every method converts the frames it returns to RGB; the frames read at random
are checked against the naive method's, pixel for pixel.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from persistence.video_files import VideoFileCache, probe_video

WIDTH, HEIGHT = 320, 240


def write_video(path: Path, frames: int, gop: int, codec: str) -> Path:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=30)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.gop_size = gop
    for i in range(frames):
        img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        img[..., 0] = (x + 3 * i) % 256
        img[..., 1] = (y + 2 * i) % 256
        img[..., 2] = rng.integers(0, 64, (HEIGHT, WIDTH))
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def naive(path: Path, indices: list[int]) -> tuple[float, list[np.ndarray], int]:
    """For each frame: back to the start of the file and decode forward until it."""
    out = []
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = time.perf_counter()
        for index in indices:
            container.seek(0)
            for position, frame in enumerate(container.decode(stream)):
                decoded += 1
                if position == index:
                    out.append(frame.to_ndarray(format="rgb24"))
                    break
        return time.perf_counter() - start, out, decoded


def sequential(path: Path) -> tuple[float, int]:
    with av.open(str(path)) as container:
        start = time.perf_counter()
        count = 0
        for frame in container.decode(video=0):
            frame.to_ndarray(format="rgb24")
            count += 1
        return time.perf_counter() - start, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--gop", type=int, default=30)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--codec", default="libx264")
    args = parser.parse_args()
    av.logging.set_level(av.logging.ERROR)  # the encoder's statistics are not the benchmark's output

    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(Path(tmp) / "bench.mp4", args.frames, args.gop, args.codec)
        start = time.perf_counter()
        info = probe_video(path)
        probe_s = time.perf_counter() - start
        indices = random.Random(0).sample(range(info.frames), args.reads)

        cache = VideoFileCache()
        start = time.perf_counter()
        cache.length(path)  # opening demuxes the file once to index its frames
        open_s = time.perf_counter() - start
        start = time.perf_counter()
        got = [cache.read_frame(path, i) for i in indices]
        random_s = time.perf_counter() - start
        random_decoded = cache.decoded_frames
        cache.close()

        cache = VideoFileCache()
        cache.length(path)
        start = time.perf_counter()
        batch = cache.read_frames(path, indices)
        batch_s = time.perf_counter() - start
        batch_decoded = cache.decoded_frames
        cache.close()

        naive_s, expected, naive_decoded = naive(path, indices)
        seq_s, seq_count = sequential(path)

    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True)), "read_frame differs"
    assert all(np.array_equal(a, b) for a, b in zip(batch, expected, strict=True)), "read_frames differs"
    n = args.reads
    rows = [
        (f"read_frame, {n} random frames", n, random_s, random_decoded),
        (f"read_frames, the same {n} at once", n, batch_s, batch_decoded),
        (f"naive: decode from the start, {n}x", n, naive_s, naive_decoded),
        (f"one sequential pass, all {seq_count}", seq_count, seq_s, seq_count),
    ]
    print(
        f"{info.codec} in {info.container}, {info.frames} frames {info.width}x{info.height}, GOP {args.gop}; "
        f"probe_video {probe_s * 1000:.0f} ms, index on open {open_s * 1000:.0f} ms"
    )
    print(
        f"  {'method':38s} {'frames':>6s} {'seconds':>8s} {'frames/s':>9s} {'decoded':>8s} {'vs naive':>9s}"
    )
    naive_fps = n / naive_s
    for name, frames, seconds, decoded in rows:
        fps = frames / seconds
        print(f"  {name:38s} {frames:6d} {seconds:8.3f} {fps:9.0f} {decoded:8d} {fps / naive_fps:8.1f}x")
    ratio = (n / random_s) / (seq_count / seq_s)
    print(
        f"  random read_frame / sequential pass, frames per second: {ratio:.3f}; "
        f"frames decoded per random read: {random_decoded / n:.1f}"
    )


if __name__ == "__main__":
    main()
