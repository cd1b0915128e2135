"""Video containers: recognising one by its bytes, opening it with that family's demuxer alone, and
indexing its frames (pts in presentation order, keyframes) by demuxing without decoding. FFmpeg would
otherwise open a text file (`tty`), a PNG or a playlist that reads other files as "video". Every
function here blocks: run it in a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

SNIFF_BYTES = 64
# FFmpeg's demuxers for the families `sniff_video` recognises; no other demuxer is ever run on a file.
_DEMUXERS = {"mp4": "mov", "mov": "mov", "matroska": "matroska", "webm": "matroska", "avi": "avi"}
_OPEN_OPTIONS = {"format_whitelist": "mov,matroska,avi", "protocol_whitelist": "file"}
# A seek that lands after the wanted frame (a demuxer indexing by dts, a sparse index) is retried from
# earlier keyframes this many times, then from the start of the file.
_SEEK_RETRIES = 2


class VideoError(Exception):
    """A video file cannot be used; `path` names the file and `problem` says why."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int
    codec: str  # FFmpeg's decoder name: h264, hevc, mpeg4, vp9, ...
    duration: float  # seconds, from the first frame's start to the last frame's end
    container: str  # mp4, mov, matroska, webm or avi


def sniff_video(head: bytes) -> str | None:
    """The container family of a file from its first bytes (`SNIFF_BYTES` suffice), or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    # QuickTime files older than `ftyp` start with one of these atoms.
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide") and int.from_bytes(head[:4], "big") >= 8:
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:SNIFF_BYTES] else "matroska"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


@dataclass(frozen=True)
class Index:
    """Where each frame is: pts in presentation order (frame i has pts[i]) and the keyframes' pts."""

    pts: np.ndarray  # int64, strictly increasing
    keyframes: np.ndarray  # int64, sorted
    time_base: Fraction
    packets: int  # every packet with data, discarded ones included (what a header's count covers)

    def seconds(self) -> np.ndarray:
        """Each frame's time in seconds, in presentation order (as stored: usually from 0)."""
        return self.pts.astype(np.float64) * float(self.time_base)

    def keyframe_before(self, pts: int) -> int:
        """The pts of the last keyframe at or before `pts` (the first frame when none is)."""
        at = int(np.searchsorted(self.keyframes, pts, side="right")) - 1
        return int(self.keyframes[at]) if at >= 0 else int(self.pts[0])

    def earlier_starts(self, keyframe: int) -> list[int]:
        """Where to seek when a seek to `keyframe` lands too late: earlier keyframes, then the start."""
        at = int(np.searchsorted(self.keyframes, keyframe, side="left"))
        earlier = [int(k) for k in self.keyframes[max(0, at - _SEEK_RETRIES) : at][::-1]]
        return [*earlier, int(self.pts[0])]


def open_video(path: Path) -> tuple[InputContainer, VideoStream, str]:
    """Open a file whose bytes name an accepted container, with that family's demuxer only."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise VideoError(path, f"unreadable ({exc.strerror or exc})") from None
    if not head:
        raise VideoError(path, "empty file")
    family = sniff_video(head)
    if family is None:
        raise VideoError(path, f"not a video: unrecognised content (starts with {head[:12]!r})")
    options = dict(_OPEN_OPTIONS, format_whitelist=_DEMUXERS[family])
    try:
        container = av.open(str(path), options=options)
    # PyAV raises more than FFmpegError on damaged files (an IndexError for an MP4 cut before its index).
    except Exception as exc:
        raise VideoError(path, f"not a video or truncated: unreadable {family} ({exc})") from None
    streams = [
        s
        for s in container.streams.video
        if not s.disposition & av.stream.Disposition.attached_pic  # cover art is not a camera stream
    ]
    if not streams:
        container.close()
        raise VideoError(path, "no video stream")
    stream = streams[0]
    if stream.codec_context is None:
        container.close()
        raise VideoError(path, "no decoder in this build for the video codec")
    return container, stream, family


def index_video(path: Path, container: InputContainer, stream: VideoStream) -> Index:
    """Demux every packet of the stream (no decoding) and collect the frames' timestamps."""
    pts: list[int] = []
    keyframes: list[int] = []
    packets = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet at the end
                continue
            packets += 1
            if packet.is_corrupt:
                raise VideoError(path, f"truncated or damaged: frame data cut short after {len(pts)} frames")
            if packet.is_discard:  # trimmed by an edit list: never shown, the decoder drops it
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                raise VideoError(path, "packets carry no timestamps, frames cannot be indexed")
            pts.append(ts)
            if packet.is_keyframe:
                keyframes.append(ts)
    except av.FFmpegError as exc:
        raise VideoError(path, f"truncated or damaged after {len(pts)} frames ({exc})") from None
    if not pts:
        raise VideoError(path, "no frames")
    ordered = np.sort(np.asarray(pts, dtype=np.int64))
    if np.any(np.diff(ordered) == 0):
        raise VideoError(path, "two frames share a timestamp, frames cannot be addressed")
    time_base = stream.time_base or Fraction(1, 1)
    return Index(ordered, np.sort(np.asarray(keyframes, dtype=np.int64)), Fraction(time_base), packets)


def fps_of(stream: VideoStream, index: Index) -> float:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            return float(rate)
    span = float((index.pts[-1] - index.pts[0]) * index.time_base)
    return (len(index.pts) - 1) / span if span > 0 else 1.0


def declared_duration(container: InputContainer, stream: VideoStream) -> float | None:
    """The video stream's duration as the header states it, in seconds, if it does."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    # Matroska stores it as a tag per track, e.g. 00:00:10.000000000.
    tag = next((v for k, v in stream.metadata.items() if k.upper() == "DURATION"), None)
    if tag and (m := re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d*)?)", tag.strip())):
        return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    if container.duration and len(container.streams) == 1:
        return container.duration / av.time_base
    return None


def frame_times(path: Path | str) -> np.ndarray:
    """Seconds of each frame in presentation order, from the packets' pts (as stored: usually from 0)."""
    path = Path(path)
    container, stream, _ = open_video(path)
    try:
        index = index_video(path, container, stream)
    finally:
        container.close()
    return index.seconds()
