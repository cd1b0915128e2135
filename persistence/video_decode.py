"""Decoding every picture of a video in order: the reference for which picture is frame n (what `ffmpeg`
or PyAV shows), and for the displayed size. An uploaded video is decoded once, when it is accepted; the
index that pass gives is kept beside the file (`<file>.frames.npz`) so that no later process decodes it
again (an AVI, whose packets carry no presentation times, could not be indexed otherwise).
Every function here blocks: run it in a worker thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from persistence.video_display import Orientation, UnsupportedRotation, orientation_of
from persistence.video_index import Index, VideoError, open_video, packet_stamp

SIDECAR_SUFFIX = ".frames.npz"
_SIDECAR_FORMAT = 1


@dataclass(frozen=True)
class Decoded:
    order: np.ndarray  # int64: the stamp (`packet_stamp`) of each picture, in the order decoding gives them
    width: int  # displayed, the same for every picture
    height: int
    orientation: Orientation


def decode_all(path: Path) -> Decoded:
    """Decode every packet in order and note each picture's stamp and displayed size.

    Raises VideoError when a packet cannot be decoded, when the displayed size changes between pictures
    (one camera, one size), or when the display matrix is not a quarter turn.
    """
    container, stream, family = open_video(path)
    order: list[int] = []
    first: tuple[int, int, Orientation] | None = None
    try:
        stream.codec_context.thread_type = "AUTO"  # whole-file decoding: frame threads pay off
        for packet in container.demux(stream):
            if packet.size == 0:
                if packet.dts is not None:  # an AVI chunk for a dropped frame; decoding it would drain
                    continue
            else:
                stamp = packet_stamp(family, packet.pts, packet.dts)
                if stamp is None:
                    raise VideoError(path, "packets carry no timestamps, frames cannot be indexed")
                packet.pts = stamp  # the decoder hands it on to the picture: that names the picture
            for frame in packet.decode():
                if frame.pts is None:
                    raise VideoError(path, f"decoded picture {len(order)} carries no timestamp")
                try:
                    orientation = orientation_of(frame)
                except UnsupportedRotation as exc:
                    raise VideoError(path, str(exc)) from None
                width, height = orientation.size(frame.width, frame.height)
                if first is None:
                    first = (width, height, orientation)
                elif (width, height, orientation) != first:
                    raise VideoError(
                        path,
                        f"the picture changes at frame {len(order)} from {first[0]} x {first[1]} "
                        f"to {width} x {height} as displayed: one camera needs one picture size",
                    )
                order.append(int(frame.pts))
    except av.FFmpegError as exc:
        raise VideoError(path, f"cannot decode after {len(order)} frames ({exc})") from None
    finally:
        container.close()
    if first is None:
        raise VideoError(path, "no frame can be decoded")
    return Decoded(np.asarray(order, dtype=np.int64), first[0], first[1], first[2])


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _version(path: Path) -> np.ndarray:
    stat = path.stat()
    return np.asarray([stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def write_index(path: Path, index: Index) -> None:
    """Keep a decoded index beside the video (written whole under a `.partial` name, then renamed); it
    holds the video's size and mtime, and is ignored once they change."""
    target = sidecar(path)
    partial = target.with_name(target.name + ".partial")
    arrays = {
        "format": np.asarray([_SIDECAR_FORMAT]),
        "version": _version(path),
        "pts": index.pts,
        "keyframes": index.keyframes,
        "time_base": np.asarray([index.time_base.numerator, index.time_base.denominator], dtype=np.int64),
        "counts": np.asarray([index.packets, index.skipped], dtype=np.int64),
    }
    if index.sources is not None:
        arrays["sources"] = index.sources
    with open(partial, "wb") as f:
        np.savez(f, allow_pickle=False, **arrays)  # numbers only
        f.flush()
        os.fsync(f.fileno())
    partial.replace(target)


def read_index(path: Path) -> Index | None:
    """The index kept beside the video, or None when there is none or it no longer fits the file."""
    target = sidecar(path)
    try:
        with np.load(target, allow_pickle=False) as data:
            if int(data["format"][0]) != _SIDECAR_FORMAT or not np.array_equal(
                data["version"], _version(path)
            ):
                return None
            num, den = (int(v) for v in data["time_base"])
            packets, skipped = (int(v) for v in data["counts"])
            sources = np.array(data["sources"]) if "sources" in data.files else None
            return Index(
                np.array(data["pts"]),
                np.array(data["keyframes"]),
                Fraction(num, den),
                packets,
                skipped,
                sources,
            )
    except (OSError, KeyError, ValueError):  # none, or unreadable: index the video as any other
        return None
