"""How the frame-numbered formats (CVAT for video, MOT) lay out annograph's frames.

These formats number a video's frames and give them no file names. A video is one (episode, camera): our
exports write it in a folder named `episode_<index:06d>_<camera>`, and reading names each frame
`<folder>/frame_<frame:06d>.jpg` (`frame_000010.jpg` at the root), so every ImageEntry still has a name.

<folder> is the folder holding the video's annotation file (CVAT's annotations.xml, the folder above MOT's
gt/), shortened to its last component (`my export/episode_000001_front` -> `episode_000001_front`) unless
two files' folders end alike, when as many trailing components as tell them apart are kept. A folder named
as ours fills ImageEntry.episode_index and camera; any other leaves -1 and '' (the import maps it to an
episode and camera the user chooses). The frame is always filled, 0-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.objects.transfer.formats.model import AnnotationSet, BoxEntry, ImageEntry

_FOLDER = re.compile(r"^episode_(\d+)_(.+)$")
_FRAME_NAME = re.compile(r"^frame_(\d+)(?:\.[A-Za-z0-9]+)?$")


def folder_name(episode_index: int, camera: str) -> str:
    return f"episode_{episode_index:06d}_{camera}"


def parse_folder(folder: str) -> tuple[int, str] | None:
    """(episode index, camera) of a folder folder_name made (its last component), or None."""
    match = _FOLDER.match(folder.rsplit("/", 1)[-1])
    return (int(match.group(1)), match.group(2)) if match else None


def frame_file_name(folder: str, frame: int) -> str:
    """The name of a 0-based frame of the video in `folder` ('' at the root)."""
    return f"{folder}/frame_{frame:06d}.jpg" if folder else f"frame_{frame:06d}.jpg"


def frame_of_name(name: str) -> int | None:
    """The frame a CVAT video frame name stands for (`frame_000010`, `frame_000010.png`), or None."""
    match = _FRAME_NAME.match(name)
    return int(match.group(1)) if match else None


def frame_image(folder: str, frame: int, width: int, height: int) -> ImageEntry:
    """The ImageEntry of a frame read from the video in `folder`."""
    ours = parse_folder(folder) if folder else None
    index, camera = ours if ours else (-1, "")
    return ImageEntry(frame_file_name(folder, frame), index, camera, frame, width, height)


def folder_labels(folders: Iterable[str]) -> dict[str, str]:
    """Each folder path (as in the archive, '' for its root) -> the folder named in file names: its last
    component, or as many trailing components as set it apart from the others ('' stays '')."""
    parts = {f: [p for p in f.replace("\\", "/").split("/") if p] for f in dict.fromkeys(folders)}
    labels = {}
    for path, own in parts.items():
        keep = min(1, len(own))
        while keep < len(own) and any(
            other is not own and other[-keep:] == own[-keep:] for other in parts.values()
        ):
            keep += 1
        labels[path] = "/".join(own[len(own) - keep :])
    return labels


@dataclass
class Video:
    """The frames of one (episode, camera) an AnnotationSet holds, and the boxes on them."""

    folder: str  # folder_name(...), or '' for frames of no episode (numbered in their order)
    width: int
    height: int
    frames: dict[str, int] = field(default_factory=dict)  # ImageEntry.file_name -> 0-based frame
    images: list[ImageEntry] = field(default_factory=list)
    boxes: list[BoxEntry] = field(default_factory=list)
    length: int = 0  # frames in the video: AnnotationSet.video_lengths, else up to the last listed one
    taken: set[int] = field(default_factory=set)  # the frames listed


def in_video(image: ImageEntry) -> bool:
    """Whether an image is a frame of an episode's camera (else it is written with the frames of none)."""
    return image.episode_index >= 0 and image.frame >= 0 and bool(image.camera) and "/" not in image.camera


def videos(data: AnnotationSet) -> tuple[list[Video], list[ImageEntry], dict[str, list[BoxEntry]]]:
    """The episode frames of `data` by (episode, camera) in the order first listed; the images that are no
    episode's frame; the boxes on those, by image. Raises ValueError for a box on an unlisted image, or two
    sizes in one video."""
    by_key: dict[tuple[int, str], Video] = {}
    video_of: dict[str, Video] = {}
    others: list[ImageEntry] = []
    for image in data.images:
        if not in_video(image):
            others.append(image)
            continue
        key = (image.episode_index, image.camera)
        video = by_key.get(key)
        if video is None:
            video = by_key[key] = Video(folder_name(*key), image.width, image.height)
        elif (video.width, video.height) != (image.width, image.height):
            raise ValueError(
                f"frames of episode {key[0]} camera {key[1]!r} differ in size: {video.width}x{video.height} "
                f"and {image.width}x{image.height} ({image.file_name})"
            )
        if image.frame in video.taken:
            raise ValueError(f"two images are frame {image.frame} of episode {key[0]} camera {key[1]!r}")
        video.taken.add(image.frame)
        video.frames[image.file_name] = image.frame
        video.images.append(image)
        video_of[image.file_name] = video
    other_names = {image.file_name for image in others}
    other_boxes: dict[str, list[BoxEntry]] = {}
    for b in data.boxes:
        video = video_of.get(b.file_name)
        if video is not None:
            video.boxes.append(b)
        elif b.file_name in other_names:
            other_boxes.setdefault(b.file_name, []).append(b)
        else:
            raise ValueError(f"a box lies on image {b.file_name!r}, which data.images lacks")
    for (index, camera), video in by_key.items():
        last = max(video.frames.values()) + 1
        video.length = max(data.video_lengths.get((index, camera), last), last)
    return list(by_key.values()), others, other_boxes
