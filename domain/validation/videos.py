"""Uploaded videos: each becomes a dataset of format VIDEO holding one episode with one camera
(`video`) and no trajectory, optionally linked to a validation project.

The type is checked from the content (the container's first bytes, then a full probe by PyAV that
decodes every picture in order: frame n is the n-th picture shown, sizes as displayed), never from the
name. The file is streamed to a temporary name and kept only when it is a whole video whose frames can
be addressed, with the index that decoding found beside it; anything refused leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from domain.accounts.users import Viewer
from domain.core.errors import BadUserInput, LimitExceeded, check_text
from domain.core.runtime import Runtime
from domain.validation.projects import lock_writable_project, read_writable_project
from persistence.episode_sources import TRAJECTORY_DATASETS
from persistence.episode_sources.video import CAMERA as VIDEO_CAMERA
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import project as projects_repo
from persistence.tables import EpisodeRow
from persistence.video_decode import write_index
from persistence.video_files import probe_video
from persistence.video_index import SNIFF_BYTES, VideoError, sniff_video

FORMAT_VIDEO = "VIDEO"
EXTENSIONS = {"mp4": ".mp4", "mov": ".mov", "matroska": ".mkv", "webm": ".webm", "avi": ".avi"}
CHUNK = 1 << 20


@dataclass(frozen=True)
class VideoUpload:
    name: str
    file_name: str
    project_id: int | None


def video_dir(rt: Runtime) -> Path:
    return rt.settings.var_dir / "videos"


async def upload_video(rt: Runtime, viewer: Viewer, req: VideoUpload, upload) -> EpisodeRow:
    """Store the uploaded video (a file-like object with async `read(n)`) and create its episode."""
    name = check_text(req.name, "name", max_length=200)
    if req.project_id is not None:
        # Before the upload streams, so that a bad project costs no upload; the write transaction
        # below takes the project again, locked, and checks it there.
        await read_writable_project(rt, req.project_id, "project_id")
    head = await upload.read(SNIFF_BYTES)
    container = sniff_video(head)
    if container is None:
        raise BadUserInput(
            f"file: {req.file_name!r} is not a video (MP4, MOV, Matroska/WebM or AVI, judged by its content)",
            field="file",
        )
    folder = video_dir(rt) / uuid.uuid4().hex
    await asyncio.to_thread(folder.mkdir, parents=True)
    target = folder / f"video{EXTENSIONS.get(container, '.mp4')}"
    partial = folder / (target.name + ".partial")
    try:
        await _save(rt, upload, head, partial)
        try:
            info = await asyncio.to_thread(probe_video, partial)
        except VideoError as exc:
            # FFmpeg's messages quote the file: the client sees its own file name, not the server's path.
            problem = exc.problem.replace(str(partial), req.file_name).replace(str(folder), ".")
            raise BadUserInput(f"file: {req.file_name!r}: {problem}", field="file") from None
        if info.width * info.height > rt.settings.max_frame_pixels:
            raise LimitExceeded(
                f"file: {req.file_name!r} has {info.width} x {info.height} frames, more than "
                f"{rt.settings.max_frame_pixels} pixels each (ANNOGRAPH_MAX_FRAME_PIXELS)",
                limit="framePixels",
                field="file",
            )
        await asyncio.to_thread(partial.replace, target)
        if info.index is not None:  # what decoding found, so that no process decodes the file again
            await asyncio.to_thread(write_index, target, info.index)
        stat = await asyncio.to_thread(target.stat)
        async with rt.sessions() as session, session.begin():
            dataset = await datasets_repo.upsert_dataset(
                session,
                str(folder),
                name=name,
                format=FORMAT_VIDEO,
                fps=info.fps,
                robot_type=None,
                cameras=[VIDEO_CAMERA],
                joint_names=[],
                features={"source": req.file_name, "codec": info.codec, "container": info.container},
                episode_count=1,
                frame_count=info.frames,
            )
            await session.flush()
            await episodes_repo.replace_episodes(
                session,
                dataset.id,
                [
                    {
                        "index": 0,
                        "file": target.name,
                        "length": info.frames,
                        "duration": info.duration,
                        "task_index": None,
                        "cameras": {VIDEO_CAMERA: [info.frames, info.height, info.width]},
                        "missing": [n for n in TRAJECTORY_DATASETS if n != "timestamp"],
                        "file_size": stat.st_size,
                        "file_mtime": stat.st_mtime,
                    }
                ],
            )
            episode = await episodes_repo.read_episode_by_index(session, dataset.id, 0)
            assert episode is not None  # inserted just above
            if req.project_id is not None:
                await lock_writable_project(session, req.project_id, "project_id")
                await projects_repo.link_episodes(
                    session, req.project_id, [episode.id], f"uploaded video {req.file_name}", viewer.user_id
                )
        return episode
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        raise


async def _save(rt: Runtime, upload, head: bytes, partial: Path) -> None:
    """Stream the upload to disk a chunk at a time (writes in a thread), within the upload limit."""
    limit = rt.settings.max_upload_bytes
    size = len(head)
    handle = await asyncio.to_thread(partial.open, "wb")
    try:
        await asyncio.to_thread(handle.write, head)
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise LimitExceeded(f"file: the video is larger than {limit} bytes", limit="uploadBytes")
            await asyncio.to_thread(handle.write, chunk)
    finally:
        await asyncio.to_thread(handle.close)
