"""The files of an uploaded annotation file: a zip's members (bounded: no zip bombs), or the one file.

A zip's members are inflated a megabyte at a time into a temporary folder, against a running budget of
what is really written (`limit`), and read back one at a time when a reader asks for them: memory holds
the member being parsed, never the whole archive unpacked.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import BinaryIO

from domain.core.errors import BadUserInput, LimitExceeded

ZIP_MEMBERS_MAX = 200_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CHUNK = 1 << 20


class UnpackedFiles(MutableMapping[str, bytes]):
    """Member name -> bytes, kept on disk until asked for; the folder goes with the object."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="annograph-upload-"))
        self._paths: dict[str, Path] = {}
        self._given: dict[str, bytes] = {}
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)

    def unpack(
        self, archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: list[int], field: str
    ) -> None:
        """Inflate `member` to disk a chunk at a time, spending `budget[0]` bytes as they are written."""
        path = self._dir / str(len(self._paths))
        with archive.open(member) as source, open(path, "wb") as target:
            while chunk := source.read(CHUNK):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise LimitExceeded(
                        "the zip unpacks to more than the limit", field=field, limit="unpackedSize"
                    )
                target.write(chunk)
        self._paths[member.filename] = path

    def __getitem__(self, name: str) -> bytes:
        if name in self._given:
            return self._given[name]
        return self._paths[name].read_bytes()

    def __setitem__(self, name: str, value: bytes) -> None:
        self._given[name] = value

    def __delitem__(self, name: str) -> None:
        if self._given.pop(name, None) is None:
            self._paths.pop(name).unlink(missing_ok=True)

    def __iter__(self) -> Iterator[str]:
        yield from self._paths
        yield from (n for n in self._given if n not in self._paths)

    def __len__(self) -> int:
        return len(self._paths.keys() | self._given.keys())

    def close(self) -> None:
        self._cleanup()


def read_upload(
    name: str, content: bytes | BinaryIO, limit: int, field: str
) -> tuple[MutableMapping[str, bytes], set[str]]:
    """(files by name, names of the images beside them) in one pass over the zip. `content` is the
    upload's bytes or a seekable binary file (the spooled upload: a zip with its frames is read from
    disk, member by member). Images are listed, not read: annotations are imported without their
    pixels, but YOLO's reader matches label files to image names. LimitExceeded when the annotation
    files (a zip's members other than images, or the one file) declare or inflate more than `limit`."""
    stream = io.BytesIO(content) if isinstance(content, bytes | bytearray) else content
    stream.seek(0)
    if stream.read(4) != b"PK\x03\x04":
        stream.seek(0)
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise LimitExceeded(f"the file is larger than {limit} bytes", field=field, limit="unpackedSize")
        return {name.replace("\\", "/").rsplit("/", 1)[-1] or "upload": data}, set()
    stream.seek(0)
    files = UnpackedFiles()
    try:
        archive = zipfile.ZipFile(stream)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > ZIP_MEMBERS_MAX:
            raise LimitExceeded(
                f"the zip holds {len(members)} files; at most {ZIP_MEMBERS_MAX}",
                field=field,
                limit="zipMembers",
            )
        images = {m.filename for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)}
        # Only what is read counts: the frames beside the annotations are listed, never inflated.
        total = sum(m.file_size for m in members if m.filename not in images)
        if total > limit:
            raise LimitExceeded(
                f"the zip's annotation files unpack to {total} bytes; at most {limit}",
                field=field,
                limit="unpackedSize",
            )
        budget = [limit]
        for member in members:
            if member.filename not in images or member.file_size == 0:
                files.unpack(archive, member, budget, field)
        return files, images
    except zipfile.BadZipFile as exc:
        files.close()
        raise BadUserInput(f"{name}: not a readable zip ({exc})", field=field, file=name) from None
    except BaseException:
        files.close()
        raise
