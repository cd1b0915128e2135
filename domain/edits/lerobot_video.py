"""One camera's video files of a LeRobot v3.0 dataset, encoded with PyAV as frames arrive.

Layout as LeRobot writes it: `videos/<key>/chunk-CCC/file-FFF.mp4`, several episodes back to back in
one file, each episode a window `[from_timestamp, to_timestamp)` of it; frame n of an episode shows at
`from_timestamp + n / fps`. LeRobot encodes each episode alone and appends it to the file (stream copy);
here the encoder stays open across episodes and frames get consecutive presentation times, which lays
out the same packets and times (mp4 time base 1/(fps x 2^k); a keyframe every `gop` frames, with H.264
also at every episode's first frame) without a temporary file or a second pass. The windows accumulate as
LeRobot's do (`to = from + N / fps`).

A file is closed and the next one started (file index + 1, next chunk after `chunks_size` files) when
its size so far plus the coming episode's estimated size (the file's bytes per frame x its frames)
reaches `video_files_size_in_mb` (LeRobot checks the same sum with the episode's actual size, which it
has encoded apart). Memory: the encoder's own buffers, whatever the number of episodes.

Encoders: `libsvtav1` (AV1, LeRobot's default: crf 30, preset 12, gop 2) and `libx264` (H.264, same
crf and gop), pixel format yuv420p; `available_codecs()` says which this PyAV build has.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
CODECS = ("libsvtav1", "libx264")
MB = 1024**2


@dataclass(frozen=True)
class VideoOptions:
    """How frames are encoded. `preset` applies to libsvtav1 only (0 slowest .. 13 fastest)."""

    codec: str = "libsvtav1"
    crf: int = 30
    gop: int = 2
    preset: int = 12
    pix_fmt: str = "yuv420p"

    def check(self) -> None:
        """ValueError when this PyAV build lacks the codec or a value is out of range."""
        if self.codec not in CODECS:
            raise ValueError(f"codec {self.codec!r}: expected one of {', '.join(CODECS)}")
        if self.codec not in av.codecs_available:
            raise ValueError(f"codec {self.codec!r} is not in this PyAV build")
        if self.pix_fmt != "yuv420p":
            raise ValueError(f"pix_fmt {self.pix_fmt!r}: only yuv420p, as LeRobot writes")
        if not 0 <= self.crf <= 63 or self.gop < 1 or not 0 <= self.preset <= 13:
            raise ValueError(f"crf 0..63, gop >= 1, preset 0..13: got {self.crf}, {self.gop}, {self.preset}")

    def encoder_options(self) -> dict[str, str]:
        options = {"g": str(self.gop), "crf": str(self.crf)}
        if self.codec == "libsvtav1":
            options["preset"] = str(self.preset)
        else:
            options["forced-idr"] = "1"  # a forced keyframe (episode start) is an IDR frame
        return options


def available_codecs() -> list[str]:
    return [c for c in CODECS if c in av.codecs_available]


def next_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """LeRobot's `update_chunk_file_indices`."""
    return (chunk + 1, 0) if file == chunks_size - 1 else (chunk, file + 1)


@dataclass(frozen=True)
class Window:
    chunk_index: int
    file_index: int
    from_timestamp: float
    to_timestamp: float


class CameraVideos:
    """Encodes one camera's episodes into its video files, one open file at a time.

    Call `begin(frames)`, `add(frame)` for each of the episode's frames (H x W x 3 uint8 RGB, the size
    given here), `end()` for its window; `close()` once (also after a failure)."""

    def __init__(
        self,
        root: Path,
        key: str,
        fps: int,
        size: tuple[int, int],
        options: VideoOptions,
        chunks_size: int,
        file_size_mb: float,
    ) -> None:
        self._root, self._key, self._fps = root, key, fps
        self._height, self._width = size
        self._options, self._chunks_size = options, chunks_size
        self._limit = file_size_mb * MB
        self._chunk, self._file = 0, 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._frames = 0  # frames in the open file
        self._bytes = 0  # bytes of the packets muxed into it
        self._duration = 0.0  # seconds of episodes in it, summed as LeRobot sums them
        self._episode: tuple[int, float] | None = None  # (frames expected, from_timestamp)
        self._added = 0
        self.files: list[Path] = []

    def path(self, chunk: int, file: int) -> Path:
        return self._root / VIDEO_PATH.format(video_key=self._key, chunk_index=chunk, file_index=file)

    def begin(self, frames: int) -> None:
        if (
            self._container is not None
            and self._frames
            and (self._bytes + self._bytes / self._frames * frames >= self._limit)
        ):
            self._close_file()
            self._chunk, self._file = next_file(self._chunk, self._file, self._chunks_size)
        if self._container is None:
            self._open_file()
        self._episode, self._added = (frames, self._duration), 0

    def add(self, frame: np.ndarray) -> None:
        if frame.shape != (self._height, self._width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"camera {self._key}: frame {self._added} is {frame.dtype} {tuple(frame.shape)}, "
                f"expected uint8 ({self._height}, {self._width}, 3)"
            )
        assert self._stream is not None and self._container is not None
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        picture.pts = self._frames
        picture.time_base = Fraction(1, self._fps)
        if self._added == 0 and self._options.codec == "libx264":
            # An H.264 episode starts on a keyframe, as in LeRobot's files (each episode encoded apart):
            # no prediction across the cut between two episodes (up to 6 levels lost on the first frame
            # otherwise). Not for SVT-AV1, which does not support keyframes asked at arbitrary frames
            # (FFmpeg's libsvtav1 sets force_key_frames only for gop 1); its keyframes every 2 frames
            # keep the loss at the cut within 1.2 levels on the tests' frames.
            picture.pict_type = av.video.frame.PictureType.I
        self._mux(self._stream.encode(picture))
        self._frames += 1
        self._added += 1

    def end(self) -> Window:
        """The episode's window; ValueError when it got another number of frames than `begin` said."""
        assert self._episode is not None
        frames, start = self._episode
        if self._added != frames:
            raise ValueError(f"camera {self._key}: {self._added} frames for an episode of {frames}")
        self._duration = start + frames / self._fps
        self._episode = None
        return Window(self._chunk, self._file, start, self._duration)

    def close(self) -> None:
        if self._container is not None:
            self._close_file()

    def _open_file(self) -> None:
        path = self.path(self._chunk, self._file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # faststart: the index before the packets, as LeRobot's concatenation leaves its files.
        self._container = av.open(str(path), "w", options={"movflags": "faststart"})
        stream = self._container.add_stream(
            self._options.codec, self._fps, options=self._options.encoder_options()
        )
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.pix_fmt = self._options.pix_fmt
        stream.width, stream.height = self._width, self._height
        stream.time_base = Fraction(1, self._fps)
        self._stream = stream
        self._frames, self._bytes, self._duration = 0, 0, 0.0
        self.files.append(path)

    def _mux(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        for packet in packets:
            self._bytes += packet.size
            self._container.mux(packet)

    def _close_file(self) -> None:
        container, stream = self._container, self._stream
        self._container = self._stream = None
        assert container is not None
        try:
            if stream is not None and self._frames:
                self._container = container
                self._mux(stream.encode(None))
        finally:
            self._container = None
            container.close()


def video_info(path: Path) -> dict[str, object]:
    """The `info` of a video feature in info.json, read from a written file as LeRobot's
    `get_video_info` reads it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info: dict[str, object] = {
            "video.height": stream.height,
            "video.width": stream.width,
            "video.codec": stream.codec_context.codec.canonical_name,
            "video.pix_fmt": stream.pix_fmt,
            "video.is_depth_map": False,
            "video.fps": int(stream.base_rate or 0),
            "video.channels": 3,
        }
        info["has_audio"] = bool(container.streams.audio)
    return info
