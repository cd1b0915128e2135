"""Video files as episodes (one camera stream): probing and frame access by index.

Only MP4/MOV, Matroska/WebM and AVI are accepted (persistence/video_index.py recognises and indexes
them). Frame n is the n-th picture in presentation order, as decoding every packet in order shows it.
An index says which picture that is: kept beside an uploaded video since it was accepted
(persistence/video_decode.py), else found by demuxing (never decoding) the whole file once; only an AVI,
whose packets carry no presentation times, is decoded once to be indexed. `VideoFileCache` reads a
frame by seeking to the keyframe before it and decoding forward, and keeps the decoder where it stopped
so that the next frames cost one decode each. Every function here blocks: run it in a worker thread.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from persistence.video_decode import decode_all, read_index
from persistence.video_display import UnsupportedRotation, orientation_of
from persistence.video_index import (
    Index,
    Packets,
    VideoError,
    VideoInfo,
    declared_duration,
    decoded_index,
    demux_packets,
    fps_of,
    listed_index,
    open_video,
    packet_stamp,
)

# A seek flushes the decoder and refills it from a keyframe: decoding forward across up to this many
# frames before the target's keyframe costs about the same, and keeps sequential reads seek-free.
_FORWARD_SLACK = 4


def index_file(path: Path, container: InputContainer, stream: VideoStream, family: str) -> Index:
    """The index kept beside the file, else one from its packets (an AVI's by decoding it once)."""
    kept = read_index(path)
    if kept is not None:
        return kept
    packets = demux_packets(path, container, stream, family)
    if family == "avi":
        return decoded_index(path, packets, decode_all(path).order)
    return listed_index(path, packets)


class _Reader:
    """One open file: its index and a decoder that stays where the last read stopped."""

    def __init__(self, path: Path, index: Index | None = None) -> None:
        self.path = path
        self.container, self.stream, self.family = open_video(path)
        try:
            self.index = (
                index if index is not None else index_file(path, self.container, self.stream, self.family)
            )
        except BaseException:
            self.container.close()
            raise
        self.decoded = 0  # frames decoded since opening, for tests and benchmarks
        self.seeks = 0
        self._frames: Generator[VideoFrame, None, None] | None = None
        self._last: int | None = None  # pts of the last frame taken from `_frames`

    @property
    def length(self) -> int:
        return len(self.index.pts)

    def _decode(self) -> Generator[VideoFrame, None, None]:
        for packet in self.container.demux(self.stream):
            if packet.size == 0:
                if packet.dts is not None:  # an AVI chunk for a dropped frame; decoding it would drain
                    continue
            else:
                # The stamp that names the picture (an AVI's dts): the decoder hands it on to the frame.
                packet.pts = packet_stamp(self.family, packet.pts, packet.dts)
            # The empty packet at the end makes decode() drain the frames still held for reordering.
            for frame in packet.decode():
                self.decoded += 1
                yield frame

    def _seek(self, pts: int) -> None:
        if self._frames is not None:
            self._frames.close()
        self._frames, self._last = None, None
        try:
            # Lands on the keyframe at or before the stamp, and flushes the decoder.
            self.container.seek(
                self.index.seek_stamp(pts), stream=self.stream, backward=True, any_frame=False
            )
        except av.FFmpegError as exc:
            raise VideoError(self.path, f"cannot seek ({exc})") from None
        self.seeks += 1
        self._frames = self._decode()

    def _next(self) -> VideoFrame | None:
        """The next decoded frame that is a frame of the index (with `_last` its pts), None at the end."""
        assert self._frames is not None
        while True:
            try:
                frame = next(self._frames, None)
            except av.FFmpegError as exc:
                self._frames, self._last = None, None
                raise VideoError(self.path, f"cannot decode near frame {self._position()} ({exc})") from None
            if frame is None:
                self._frames, self._last = None, None
                return None
            stamp = frame.pts if frame.pts is not None else frame.dts
            if stamp is None:
                raise VideoError(self.path, "decoded frames carry no timestamps")
            pts = self.index.presentation(stamp)
            if pts is None:  # a picture decoding in order never shows (a leading one after a seek)
                continue
            self._last = pts
            return frame

    def _position(self) -> int:
        """The index of the last frame decoded (0 before any)."""
        return int(np.searchsorted(self.index.pts, self._last)) if self._last is not None else 0

    def _key_position(self, keyframe: int) -> int:
        return int(np.searchsorted(self.index.pts, keyframe))

    def check(self, index: int) -> int:
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"frame index must be an integer, not {type(index).__name__}") from None
        if not 0 <= i < self.length:
            raise IndexError(
                f"frame {i} out of range: {self.path} has {self.length} frames (0..{self.length - 1})"
            )
        return i

    def frame(self, index: int) -> VideoFrame:
        """The decoded frame `index`, decoding forward from where the decoder is when that is cheaper."""
        position = self.check(index)
        target = int(self.index.pts[position])
        keyframe = self.index.keyframe_before(target)
        # Forward from where the decoder is when it is before the target and past the target's keyframe,
        # or only a few frames short of it: that decodes fewer frames than a seek to the keyframe would.
        here = self._position()
        ahead = self._last is not None and here < position
        if self._frames is None or not ahead or self._key_position(keyframe) - here > _FORWARD_SLACK:
            self._seek(keyframe)
        starts: list[int] | None = None
        fresh = self._last is None
        while True:
            frame = self._next()
            if frame is not None and self._last == target:
                return frame
            # `_last` is set whenever `_next` returns a frame.
            if frame is not None and self._last is not None and self._last < target:
                fresh = False
                continue
            if starts is None:
                starts = self.index.earlier_starts(keyframe)
            if fresh and starts:
                # The seek landed past the frame (the demuxer indexes by dts, or its index is coarse):
                # start again from an earlier keyframe.
                self._seek(starts.pop(0))
                continue
            self._frames, self._last = None, None
            raise VideoError(self.path, f"frame {index} cannot be decoded (missing from the stream)")

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()
            self._frames = None
        self.container.close()


def probe_video(path: Path | str) -> VideoInfo:
    """Check that a file is a whole video whose frames can be addressed, and describe it as displayed;
    raise VideoError (naming the file and the problem) if not.

    Costs one demux pass and one decoding of every picture in order, the reference for which picture
    frame n is; `info.index` is what that decoding found (keep it with `write_index`).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(path, "no such file")
    container, stream, family = open_video(path)
    try:
        packets = demux_packets(path, container, stream, family)
        _check_whole(path, container, stream, family, packets)  # before decoding: a cut file costs little
        codec = stream.codec_context.name
        decoded = decode_all(path)
        index = decoded_index(path, packets, decoded.order)
        _check_shown(path, packets, decoded.order, index)
        fps = fps_of(stream, index)
    finally:
        container.close()
    reader = _Reader(path, index)
    try:
        reader.frame(len(index.pts) - 1)  # by seeking, as frames are served
    except VideoError as exc:
        raise VideoError(path, f"truncated: the last frames cannot be decoded ({exc.problem})") from None
    finally:
        reader.close()
    return VideoInfo(
        frames=len(index.pts),
        fps=fps,
        width=decoded.width,
        height=decoded.height,
        codec=codec,
        duration=_duration(index, fps),
        container=family,
        skipped=index.skipped,
        index=index,
    )


def _duration(index: Index, fps: float) -> float:
    """Seconds from the first frame's start to the last frame's end."""
    return float(int(index.pts[-1] - index.pts[0]) * index.time_base) + 1.0 / fps


def _check_whole(
    path: Path, container: InputContainer, stream: VideoStream, family: str, packets: Packets
) -> None:
    """Refuse a file whose header promises more frames or time than its packets hold (a cut file)."""
    # An AVI header counts chunks, the empty ones of dropped frames too, which the demuxer skips while
    # the dts keeps their slots: there the slots reached are what is present.
    present = packets.count if family != "avi" else max(packets.count, int(packets.stamps.max()) + 1)
    if stream.frames and present < stream.frames:
        raise VideoError(
            path, f"truncated: the header declares {stream.frames} frames, {present} are present"
        )
    declared = declared_duration(container, stream)
    # Only where the header counts no frames (Matroska): elsewhere the count above is exact, while a
    # duration can include edits that the frames never show.
    if stream.frames or declared is None:
        return
    listed = listed_index(path, packets)
    fps = fps_of(stream, listed)
    duration = _duration(listed, fps)
    # Times may start late (a recording cut from a longer one keeps its timestamps, e.g. from 0.5 s):
    # the header's duration may count from 0 or from the first frame.
    covered = max(duration, float(listed.seconds()[-1]) + 1.0 / fps)
    if declared - covered > 2.0 / fps + 0.01:
        raise VideoError(
            path, f"truncated: the header declares {declared:.3f} s, the frames cover {duration:.3f} s"
        )


def _check_shown(path: Path, packets: Packets, order: np.ndarray, index: Index) -> None:
    """Refuse a file of which decoding shows fewer frames than the packets list (damaged data), but for
    the first group of pictures: where a cut removed what its leading pictures refer to (an open GOP),
    the decoder drops them, and they are no frames."""
    listed = listed_index(path, packets).pts
    keys = np.flatnonzero(packets.keys)
    second_group = int(keys[1]) if len(keys) > 1 else len(packets.stamps)
    missing = np.intersect1d(np.setdiff1d(listed, order), packets.stamps[second_group:])
    if len(missing):
        raise VideoError(
            path,
            f"truncated or damaged: {len(missing)} of the {len(listed)} frames the file lists cannot be "
            f"decoded (the first at {float(int(missing[0]) * index.time_base):.3f} s)",
        )


def frame_times(path: Path | str) -> np.ndarray:
    """Seconds of each frame in presentation order (as stored: not always from 0)."""
    reader = _Reader(Path(path))
    try:
        return reader.index.seconds()
    finally:
        reader.close()


def _rgb(reader: _Reader, frame: VideoFrame, display: bool) -> np.ndarray:
    # One thread per conversion: frames are served from many worker threads at once, and swscale's own
    # threads cost more to wake than they save on camera-sized frames (bench.lerobot).
    pixels = frame.reformat(format="rgb24", threads=1).to_ndarray()
    if not display:
        return pixels
    try:
        return orientation_of(frame).apply(pixels)
    except UnsupportedRotation as exc:
        raise VideoError(reader.path, str(exc)) from None


@dataclass
class _OpenVideo:
    reader: _Reader
    version: tuple[int, int]  # (mtime_ns, size): a file changed on disk is reopened
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False


class VideoFileCache:
    """Keeps up to `size` videos open (LRU), each with its decoder; one lock per file, thread-safe.

    Indexes (one int64 per frame) outlive their open file, up to `index_size` of them, so reopening an
    evicted file does not demux it again.
    """

    def __init__(self, size: int = 16, index_size: int = 1024) -> None:
        self._size = size
        self._index_size = index_size
        self._files: OrderedDict[Path, _OpenVideo] = OrderedDict()
        self._indexes: OrderedDict[tuple[Path, tuple[int, int]], Index] = OrderedDict()
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._decoded = 0
        self._seeks = 0

    @property
    def decoded_frames(self) -> int:
        """Frames decoded so far by every file this cache has read, for tests and benchmarks."""
        return self._decoded

    @property
    def seeks(self) -> int:
        return self._seeks

    def _get(self, path: Path) -> _OpenVideo:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            entry = self._files.get(path)
            if entry is not None and entry.version == version:
                self._files.move_to_end(path)
                return entry
            index = self._indexes.get((path, version))
        # Opening demuxes the whole file when its index is not known: not under the cache's lock, which
        # would stall reads of every other file meanwhile.
        reader = _Reader(path, index)
        retired: list[_OpenVideo] = []
        with self._lock:
            self._indexes[(path, version)] = reader.index
            self._indexes.move_to_end((path, version))
            while len(self._indexes) > self._index_size:
                self._indexes.popitem(last=False)
            current = self._files.get(path)
            if current is not None and current.version == version:  # another thread opened it first
                retired.append(_OpenVideo(reader, version))
                self._files.move_to_end(path)
                entry = current
            else:
                if current is not None:
                    retired.append(self._files.pop(path))
                entry = _OpenVideo(reader, version)
                self._files[path] = entry
                while len(self._files) > self._size:
                    retired.append(self._files.popitem(last=False)[1])
        # Closed outside the cache's lock: closing waits for a read in progress on that file, and the
        # cache must not stall every other file (nor deadlock with a reader updating the counters).
        for old in retired:
            self._retire(old)
        return entry

    @staticmethod
    def _retire(entry: _OpenVideo) -> None:
        with entry.lock:
            entry.closed = True
            entry.reader.close()

    @contextmanager
    def _reader(self, path: Path | str) -> Iterator[_Reader]:
        """The file's reader with its lock held; taken again when the file was evicted in between."""
        path = Path(path)
        while True:
            entry = self._get(path)
            with entry.lock:
                if entry.closed:
                    continue
                reader = entry.reader
                before = (reader.decoded, reader.seeks)
                try:
                    yield reader
                finally:
                    with self._stats_lock:
                        self._decoded += reader.decoded - before[0]
                        self._seeks += reader.seeks - before[1]
                return

    def length(self, path: Path | str) -> int:
        """The number of frames of a video."""
        with self._reader(path) as reader:
            return reader.length

    def frame_times(self, path: Path | str) -> np.ndarray:
        """Seconds of each frame in presentation order, from the index the cache already holds."""
        with self._reader(path) as reader:
            return reader.index.seconds()

    def read_frame(self, path: Path | str, index: int, *, display: bool = False) -> np.ndarray:
        """Frame `index` (presentation order) as H x W x 3 uint8 RGB; IndexError when out of range.

        `display`: turned and mirrored by the display matrix, as a player shows it (an uploaded video);
        else as stored (LeRobot's decoders read it so, and its features give that size)."""
        with self._reader(path) as reader:
            return _rgb(reader, reader.frame(index), display)

    def read_frames(
        self, path: Path | str, indices: Iterable[int], *, display: bool = False
    ) -> list[np.ndarray]:
        """Frames in the order asked; decoded in file order so that each GOP is decoded once."""
        with self._reader(path) as reader:
            wanted = [reader.check(i) for i in indices]
            found: dict[int, np.ndarray] = {}
            for i in sorted(set(wanted)):
                found[i] = _rgb(reader, reader.frame(i), display)
            seen: set[int] = set()
            out = []
            for i in wanted:
                out.append(found[i] if i not in seen else found[i].copy())  # no aliasing between repeats
                seen.add(i)
            return out

    def close(self) -> None:
        with self._lock:
            entries = list(self._files.values())
            self._files.clear()
            self._indexes.clear()
        for entry in entries:
            self._retire(entry)
