"""Video containers: recognising one by its bytes, opening it with that family's demuxer alone, and
indexing its frames (presentation order, keyframes). FFmpeg would otherwise open a text file (`tty`), a
PNG or a playlist that reads other files as "video". An index comes from the packets alone
(`listed_index`, one demux pass) or from decoding every packet in order (`decoded_index`, the reference:
what `ffmpeg` or PyAV shows). Every function here blocks: run it in a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
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
    frames: int  # pictures decoding shows (packets before the first decodable one are not frames)
    fps: float
    width: int  # as displayed: after the display matrix (a phone's portrait video is taller than wide)
    height: int
    codec: str  # FFmpeg's decoder name: h264, hevc, mpeg4, vp9, ...
    duration: float  # seconds, from the first frame's start to the last frame's end
    container: str  # mp4, mov, matroska, webm or avi
    skipped: int = 0  # packets no picture comes from (a recording cut without its leading keyframe)
    index: Index | None = field(default=None, repr=False, compare=False)  # what `write_index` keeps


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
    """Where each frame is. Frame i is the i-th picture in presentation order and has the presentation
    timestamp pts[i]; keyframes are where decoding can start, by their pictures' pts.

    Decoded pictures are known by the stamp their packet carried (`packet_stamp`). Usually that is the
    picture's pts (`sources` None). Where stamps are not presentation times (AVI stores none: the stamp
    is the packet's slot in decode order), `sources[i]` is the stamp of frame i's packet, learnt by
    decoding, and pts are the slots in order, so frame i still shows at slot i.
    """

    pts: np.ndarray  # int64, strictly increasing
    keyframes: np.ndarray  # int64, sorted: pts of the pictures decoding can start from
    time_base: Fraction
    packets: int  # every packet of the file, empty and discarded ones included (what a header's count covers)
    skipped: int = 0  # packets no picture comes from (before the first keyframe: undecodable)
    sources: np.ndarray | None = None  # int64 stamp of frame i's packet, when it is not pts[i]

    def seconds(self) -> np.ndarray:
        """Each frame's time in seconds, in presentation order (as stored: not always from 0)."""
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

    def seek_stamp(self, pts: int) -> int:
        """The timestamp to seek to for the picture with presentation time `pts` (its packet's stamp)."""
        if self.sources is None:
            return pts
        return int(self.sources[int(np.searchsorted(self.pts, pts))])

    def presentation(self, stamp: int) -> int | None:
        """The pts of the picture decoded from the packet stamped `stamp`; None for a picture the index
        does not hold (one that a decoder gives only after a seek, e.g. a leading picture of an open GOP)."""
        if self.sources is None:
            return stamp
        order = self._source_order
        at = int(np.searchsorted(self.sources[order], stamp))
        if at < len(order) and self.sources[order[at]] == stamp:
            return int(self.pts[order[at]])
        return None

    @cached_property
    def _source_order(self) -> np.ndarray:
        assert self.sources is not None
        return np.argsort(self.sources, kind="stable")


@dataclass(frozen=True)
class Packets:
    """The stream's packets in decode order, from one demux pass (no decoding)."""

    stamps: np.ndarray  # int64, `packet_stamp` of each packet with data that is not discarded
    keys: np.ndarray  # bool, the packet starts a keyframe
    count: int  # every packet of the file (what a header's count covers), empty and discarded ones included
    time_base: Fraction


def packet_stamp(family: str, pts: int | None, dts: int | None) -> int | None:
    """What identifies a packet, and the picture decoded from it. AVI stores no presentation times
    (FFmpeg guesses a pts, wrongly for B-frames): there the dts, the packet's slot in decode order."""
    if family == "avi":
        return dts
    return pts if pts is not None else dts


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


def demux_packets(path: Path, container: InputContainer, stream: VideoStream, family: str) -> Packets:
    """Demux every packet of the stream (no decoding): stamps and keyframe flags in decode order."""
    stamps: list[int] = []
    keys: list[bool] = []
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                # An empty chunk (a dropped frame) counts in a header, though no picture comes from it;
                # the flush packet at the end (no dts) is no packet of the file.
                if packet.dts is not None:
                    count += 1
                continue
            count += 1
            if packet.is_corrupt:
                raise VideoError(
                    path, f"truncated or damaged: frame data cut short after {len(stamps)} frames"
                )
            if packet.is_discard:  # trimmed by an edit list: never shown, the decoder drops it
                continue
            stamp = packet_stamp(family, packet.pts, packet.dts)
            if stamp is None:
                raise VideoError(path, "packets carry no timestamps, frames cannot be indexed")
            stamps.append(stamp)
            keys.append(bool(packet.is_keyframe))
    except av.FFmpegError as exc:
        raise VideoError(path, f"truncated or damaged after {len(stamps)} frames ({exc})") from None
    if not stamps:
        raise VideoError(path, "no frames")
    time_base = Fraction(stream.time_base or Fraction(1, 1))
    return Packets(np.asarray(stamps, dtype=np.int64), np.asarray(keys, dtype=bool), count, time_base)


def listed_index(path: Path, packets: Packets) -> Index:
    """The frames as the packets list them, without decoding: what can be decoded is what follows the
    first keyframe in decode order, and shows from it on (a recording cut without its keyframe starts
    with pictures whose references are gone; the decoder drops them, and so does the index). Exact when
    the stamps are presentation times; AVI's are not (`decoded_index`)."""
    stamps, keys = packets.stamps, packets.keys
    first = int(np.argmax(keys)) if keys.any() else 0  # without any keyframe flag: from the start
    kept = np.zeros(len(stamps), dtype=bool)
    kept[first:] = stamps[first:] >= stamps[first]
    pts = np.sort(stamps[kept])
    if np.any(np.diff(pts) == 0):
        raise VideoError(path, "two frames share a timestamp, frames cannot be addressed")
    keyframes = np.sort(stamps[kept & keys])
    return Index(pts, keyframes, packets.time_base, packets.count, skipped=int(len(stamps) - kept.sum()))


def decoded_index(path: Path, packets: Packets, order: np.ndarray) -> Index:
    """The frames as decoding every packet in order shows them: `order` holds the stamp of each picture
    the decoder gave, in the order it gave them (presentation order). Pictures never given (undecodable)
    are not frames; when the stamps are not increasing they are not presentation times, and the pictures
    keep the stamps' slots in order (AVI)."""
    order = np.asarray(order, dtype=np.int64)
    if not len(order):
        raise VideoError(path, "no frame can be decoded")
    ordered = np.sort(order)
    if np.any(np.diff(ordered) == 0):
        raise VideoError(
            path, "two pictures come from packets with one timestamp, frames cannot be addressed"
        )
    unknown = np.setdiff1d(order, packets.stamps)
    if len(unknown):
        raise VideoError(
            path, f"the decoder gives a picture stamped {int(unknown[0])}, which no packet carries"
        )
    increasing = bool(np.all(np.diff(order) > 0))
    pts = order if increasing else ordered
    sources = None if increasing else order
    key_stamps = packets.stamps[packets.keys]
    shown = np.isin(order, key_stamps)  # keyframes whose picture is a frame
    keyframes = np.sort(pts[shown])
    return Index(pts, keyframes, packets.time_base, packets.count, len(packets.stamps) - len(order), sources)


def fps_of(stream: VideoStream, index: Index) -> float:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            return float(rate)
    span = float((index.pts[-1] - index.pts[0]) * index.time_base)
    return (len(index.pts) - 1) / span if span > 0 else 1.0


def declared_duration(container: InputContainer, stream: VideoStream) -> float | None:
    """The video stream's duration as the header states it, in seconds, if it does."""
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    # Matroska stores it as a tag per track, e.g. 00:00:10.000000000.
    tag = next((v for k, v in stream.metadata.items() if k.upper() == "DURATION"), None)
    if tag and (m := re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d*)?)", tag.strip())):
        return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    if container.duration and len(container.streams) == 1:
        return container.duration / av.time_base
    return None
