"""The LeRobot side of an episode export job (domain/edits/export.py runs it): the request's checks
that need the plan (`lerobot_checks`) and the write of the whole dataset into the job's folder
(`write_lerobot`: annotations gathered, then lerobot_export.write_lerobot_export in a thread)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

from pydantic import JsonValue

from domain.core.errors import BadUserInput, inside
from domain.core.runtime import Runtime
from domain.edits.images import output_size
from domain.edits.lerobot_export import (
    ExportShape,
    VideoCodec,
    lerobot_fps,
    write_lerobot_export,
)
from domain.edits.lerobot_export_annotations import gather_extras
from domain.edits.lerobot_video import available_codecs
from domain.edits.spec import EpisodeEdits
from persistence.episode_sources import episode_ref
from persistence.tables import DatasetRow, EpisodeRow

Plan = list[tuple[EpisodeRow, EpisodeEdits]]


def camera_size(episode: EpisodeRow, edits: EpisodeEdits, camera: str) -> tuple[int, int]:
    """(height, width) of the camera's frames after the episode's edits."""
    _, height, width = episode.cameras[camera]
    edit = edits.cameras.get(camera)
    return output_size(edit, (height, width)) if edit is not None else (height, width)


def lerobot_checks(dataset: DatasetRow, plan: Plan, codec: VideoCodec) -> None:
    """What a LeRobot dataset needs of the plan, checked before the job starts (BAD_USER_INPUT naming
    the field): a whole fps, the codec in this PyAV build, the same cameras in every episode, each of
    one size after the edits (a video feature has one shape), even sides for H.264 (yuv420p)."""
    lerobot_fps(dataset.fps)
    if codec.value not in available_codecs():
        raise BadUserInput(f"codec: {codec.name} is not in this server's PyAV build", field="codec")
    first, first_edits = plan[0]
    sizes = {c: camera_size(first, first_edits, c) for c in first.cameras}
    for i, (episode, edits) in enumerate(plan):
        where = inside("episodes", i, "edits")
        if set(episode.cameras) != set(sizes):
            raise BadUserInput(
                f"{where}: episode {episode.index} has cameras {sorted(episode.cameras)}, the first "
                f"{sorted(sizes)}: a LeRobot dataset has the same cameras in every episode",
                field=where,
            )
        for camera in episode.cameras:
            size = camera_size(episode, edits, camera)
            if size != sizes[camera]:
                raise BadUserInput(
                    f"{where}: camera {camera} of episode {episode.index} would be {size[0]} x {size[1]}, "
                    f"the first episode's {sizes[camera][0]} x {sizes[camera][1]}: a LeRobot video "
                    "feature has one size (crop or resize to match)",
                    field=where,
                )
            if codec is VideoCodec.H264 and (size[0] % 2 or size[1] % 2):
                raise BadUserInput(
                    f"{where}: camera {camera} would be {size[0]} x {size[1]}; H.264 (yuv420p) needs even "
                    "sides (crop or resize, or use AV1)",
                    field=where,
                )


def _names(dataset: DatasetRow) -> dict[str, tuple[str, ...]]:
    """The source's names of vector components (LeRobot's `names`), where its features describe them."""
    out: dict[str, tuple[str, ...]] = {}
    for key, described in (dataset.features or {}).items():
        names = described.get("names") if isinstance(described, dict) else None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            out[key] = tuple(str(n) for n in names)
    return out


async def write_lerobot(
    rt: Runtime, dataset: DatasetRow, plan: Plan, work: Path, codec: VideoCodec
) -> JsonValue:
    """Write the plan as LeRobot v3.0 into `work` (emptied first: a part run again starts over);
    returns the summary counts. Cancelling stops the writer at its next episode, which removes what
    it wrote."""
    subtasks, extras = await gather_extras(rt, dataset, [e for e, _ in plan])
    first, first_edits = plan[0]
    shape = ExportShape(
        fps=lerobot_fps(dataset.fps),
        cameras={c: camera_size(first, first_edits, c) for c in first.cameras},
        codec=codec.value,
        robot_type=dataset.robot_type,
        subtasks=subtasks,
        names=_names(dataset),
    )
    refs = [episode_ref(dataset, e) for e, _ in plan]
    stop = threading.Event()

    def progress(_episodes: int, _frames: int) -> None:
        if stop.is_set():
            raise asyncio.CancelledError  # unwinds the writer, which removes the folder

    await asyncio.to_thread(shutil.rmtree, work, True)
    try:
        summary = await asyncio.to_thread(
            write_lerobot_export, work, refs, [ed for _, ed in plan], extras, shape, progress=progress
        )
    except BaseException:
        stop.set()
        raise
    return {
        "episodes": summary.episodes,
        "frames": summary.frames,
        "tasks": summary.tasks,
        "subtasks": len(subtasks),
        "anomalies": sum(len(x.anomalies) for x in extras),
        "bytes": summary.bytes,
    }
