"""Adding and removing model files of the models folder (admins; the graph checks the role).

A `.pt` checkpoint is a Python pickle: loading it, which listing it and detecting with it do, runs
whatever code it holds. Only admins add files, and a file is loaded once on arrival so that one which
is no detection model is refused at once instead of failing every later detection.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path, PurePosixPath

from domain.core.errors import BadUserInput, Conflict, LimitExceeded
from domain.core.runtime import Runtime
from domain.detection.errors import DetectorUnavailable
from domain.detection.models import INSTALL_HINT, ModelInfo, describe_model, describe_models, resolve_model

UPLOAD_SUFFIXES = (".pt", ".yaml")
CHUNK = 1 << 20
NAME_MAX = 120


def _checked_name(file_name: str, field: str) -> str:
    """The file name a model is kept under: a plain name ending in .pt or .yaml."""
    name = file_name.strip()
    if not name or len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadUserInput(f"{field}: give a file name of 1 to {NAME_MAX} printable characters", field=field)
    if "/" in name or "\\" in name or name.startswith(".") or PurePosixPath(name).name != name:
        raise BadUserInput(f"{field}: {name!r} must be a plain file name, without folders", field=field)
    if PurePosixPath(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise BadUserInput(
            f"{field}: {name!r} must end in .pt (a checkpoint) or .yaml (an architecture)", field=field
        )
    return name


async def upload_model(rt: Runtime, file_name: str, upload, *, field: str = "name") -> ModelInfo:
    """Keep an uploaded model file (an object with async `read(n)`) under `file_name` in the models
    folder: BAD_USER_INPUT naming `field` for another suffix or a file that is no detection model,
    CONFLICT when the name is taken, LIMIT_EXCEEDED (`uploadBytes`) beyond the upload limit. The file
    appears whole or not at all."""
    name = _checked_name(file_name, field)
    folder = rt.settings.models_dir
    assert folder is not None  # the settings' validator sets it
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    target = folder / name
    if await asyncio.to_thread(target.exists):
        raise Conflict(f"{field}: the models folder has {name!r} already; delete it first", field=field)
    # A hidden name without a model suffix: never listed or loaded while it is being written.
    partial = folder / f".upload-{uuid.uuid4().hex}.part"
    try:
        await _save(rt, upload, partial)
        try:
            # A hard link fails when the name was taken meanwhile, where a rename would replace it.
            await asyncio.to_thread(os.link, partial, target)
        except FileExistsError:
            raise Conflict(
                f"{field}: the models folder has {name!r} already; delete it first", field=field
            ) from None
    finally:
        await asyncio.to_thread(partial.unlink, True)
    try:
        info = await asyncio.to_thread(describe_model, name, folder)
    except BaseException:
        await asyncio.to_thread(target.unlink, True)
        raise
    if info.problem is not None and not _without_ultralytics(info):
        await asyncio.to_thread(target.unlink, True)
        raise BadUserInput(f"file: {info.problem}", field="file")
    return info


def _without_ultralytics(info: ModelInfo) -> bool:
    # A server without the detect extra keeps the file unchecked; its list says why it cannot load it.
    return info.problem == INSTALL_HINT


async def _save(rt: Runtime, upload, partial: Path) -> None:
    limit = rt.settings.max_upload_bytes
    size = 0
    handle = await asyncio.to_thread(partial.open, "wb")
    try:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise LimitExceeded(f"file: the model is larger than {limit} bytes", limit="uploadBytes")
            await asyncio.to_thread(handle.write, chunk)
    finally:
        await asyncio.to_thread(handle.close)
    if size == 0:
        raise BadUserInput("file: the file is empty", field="file")


async def delete_model(rt: Runtime, name: str, *, field: str = "name") -> bool:
    """Remove the model file `name` from the models folder; false when there is no such file (an
    architecture Ultralytics ships is no file to delete). A detection already running keeps its copy
    in memory."""
    folder = rt.settings.models_dir
    assert folder is not None
    try:
        spec = await asyncio.to_thread(resolve_model, name, folder, field=field)
    except BadUserInput as exc:
        if exc.details.get("available") is not None:
            return False  # a well-formed name of no file
        raise
    except DetectorUnavailable:
        return False  # not a file, and only Ultralytics would know the architecture
    if spec.packaged:
        return False
    try:
        await asyncio.to_thread(os.unlink, spec.source)
    except FileNotFoundError:
        return False
    return True


async def list_model_files(rt: Runtime) -> list[ModelInfo]:
    """The models folder's files, by name, each loaded once to tell its classes (see describe_model)."""
    folder = rt.settings.models_dir
    assert folder is not None
    return await asyncio.to_thread(describe_models, folder)
