"""Videos of the field-case kinds (issue 15) and their reference: what decoding every picture in order
with PyAV shows, turned as ffmpeg turns it for display.

Pictures are drawn as the field cases draw theirs: the picture's index in 8 white/black columns across
the top half (bit j in column j, from the left), and a red block in the bottom-left corner, so that a
served frame says which picture it is and which way up it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.filter import Graph

FIELD_CASES = Path(__file__).resolve().parents[1] / "field_cases" / "video"
WIDTH, HEIGHT = 64, 48


def picture(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    img = np.zeros((height, width, 3), np.uint8)
    column = width // 8
    for bit in range(8):
        if index >> bit & 1:
            img[: height // 2, bit * column : (bit + 1) * column] = 255
    img[height // 2 :, : width // 4] = (255, 0, 0)
    return img


def index_of(img: np.ndarray) -> int:
    """The index drawn by `picture` (or by the field cases), read from the middle of each column."""
    height, width = img.shape[:2]
    column = width // 8
    top = img[height // 8 : 3 * height // 8]
    return sum(
        1 << bit
        for bit in range(8)
        if top[:, bit * column + column // 4 : (bit + 1) * column - column // 4].mean() > 128
    )


def red_corner(img: np.ndarray) -> str:
    """Where the red block is: "bottom-left" in an upright picture."""
    rgb = img.astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 100) & (rgb[..., 2] < 100)
    rows, cols = np.nonzero(red)
    assert len(rows), "no red block"
    height, width = red.shape
    vertical = "bottom" if rows.mean() > height / 2 else "top"
    horizontal = "right" if cols.mean() > width / 2 else "left"
    return f"{vertical}-{horizontal}"


def upright(img: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Undo a counterclockwise turn by `quarter_turns`, to read the columns of a turned picture."""
    return np.rot90(img, -quarter_turns)


# ffmpeg's autorotation for a display matrix without a mirror, by the angle PyAV reads from it
# (counterclockwise degrees, VideoFrame.rotation): the filters ffmpeg and ffplay insert.
_FFMPEG_FILTERS = {0: [], 90: [("transpose", "cclock")], -90: [("transpose", "clock")],
                   180: [("hflip", None), ("vflip", None)], -180: [("hflip", None), ("vflip", None)]}


def _shown_by_ffmpeg(frame: av.VideoFrame) -> np.ndarray:
    filters = _FFMPEG_FILTERS[frame.rotation]
    if not filters:
        return frame.to_ndarray(format="rgb24")
    graph = Graph()
    last = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                            time_base=Fraction(1, 1000))
    for name, args in filters:
        node = graph.add(name, args) if args else graph.add(name)
        last.link_to(node)
        last = node
    sink = graph.add("buffersink")
    last.link_to(sink)
    graph.configure()
    graph.push(frame)
    return graph.pull().to_ndarray(format="rgb24")


@dataclass(frozen=True)
class Reference:
    stored: list[np.ndarray]  # each picture as decoded, in the order decoding gives them
    shown: list[np.ndarray]  # as ffmpeg shows it
    times: list[float]  # each picture's presentation time (s) as PyAV gives it (AVI: not meaningful)
    rotation: int  # PyAV's VideoFrame.rotation of the pictures


def reference(path: Path) -> Reference:
    """Decode every picture in order with PyAV: frame n must be the n-th of these."""
    stored, shown, times, rotation = [], [], [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            stored.append(frame.to_ndarray(format="rgb24"))
            shown.append(_shown_by_ffmpeg(frame))
            times.append(float(frame.time) if frame.time is not None else float("nan"))
            rotation = frame.rotation
    return Reference(stored, shown, times, rotation)


def write_video(
    path: Path,
    frames: int,
    *,
    codec: str = "libx264",
    fps: int = 10,
    b_frames: int = 3,
    gop: int = 8,
    rotation: int | None = None,
    hflip: bool = False,
    first: int = 0,
) -> Path:
    """Pictures `first` .. `first + frames - 1`, each stamped at its index / fps (so the file's times
    start at first / fps), with a display rotation (counterclockwise degrees, as PyAV takes it)."""
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.gop_size = gop
    stream.codec_context.max_b_frames = b_frames
    if rotation is not None or hflip:
        stream.set_display_rotation(rotation or 0, hflip=hflip)
    for i in range(first, first + frames):
        frame = av.VideoFrame.from_ndarray(picture(i), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def cut_leading(source: Path, target: Path, drop: int) -> Path:
    """The recording without its first `drop` packets (its first keyframe among them), packets copied as
    they are: what a recorder started late, or a cut at a non-keyframe, leaves."""
    with av.open(str(source)) as given, av.open(str(target), "w") as out:
        stream = given.streams.video[0]
        copy = out.add_stream_from_template(stream)
        seen = 0
        for packet in given.demux(stream):
            if packet.size == 0:
                continue
            seen += 1
            if seen > drop:
                packet.stream = copy
                out.mux(packet)
    return target


def write_resized(path: Path, frames: int = 6) -> Path:
    """An MPEG-4 AVI whose pictures shrink from 64 x 48 to 32 x 24 half way (two recordings joined)."""

    def encoded(width: int, height: int, first: int) -> list[av.Packet]:
        codec = av.CodecContext.create("mpeg4", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.time_base, codec.framerate, codec.gop_size = Fraction(1, 10), Fraction(10), 5
        packets = []
        for i in range(first, first + frames):
            frame = av.VideoFrame.from_ndarray(picture(i, width, height), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            packets += codec.encode(frame)
        return packets + codec.encode(None)

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for packet in encoded(WIDTH, HEIGHT, 0) + encoded(WIDTH // 2, HEIGHT // 2, frames):
            packet.stream = stream
            container.mux(packet)
    return path
