"""The files of an uploaded annotation file: a zip's members (bounded: no zip bombs), or the one file."""

from __future__ import annotations

import io
import zipfile

from domain.errors import BadUserInput, LimitExceeded

ZIP_MEMBERS_MAX = 200_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_upload(name: str, content: bytes, limit: int, field: str) -> tuple[dict[str, bytes], set[str]]:
    """(files by name, names of the images beside them) in one pass over the zip. Images are listed,
    not read: annotations are imported without their pixels, but YOLO's reader matches label files
    to image names."""
    if not content.startswith(b"PK\x03\x04"):
        return {name.replace("\\", "/").rsplit("/", 1)[-1] or "upload": content}, set()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > ZIP_MEMBERS_MAX:
            raise LimitExceeded(
                f"the zip holds {len(members)} files; at most {ZIP_MEMBERS_MAX}",
                field=field,
                limit="zipMembers",
            )
        total = sum(m.file_size for m in members)
        if total > limit:
            raise LimitExceeded(
                f"the zip unpacks to {total} bytes; at most {limit}", field=field, limit="unpackedSize"
            )
        images = {m.filename for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)}
        files = {m.filename: archive.read(m) for m in members if m.filename not in images or m.file_size == 0}
        return files, images
    except zipfile.BadZipFile as exc:
        raise BadUserInput(f"{name}: not a readable zip ({exc})", field=field, file=name) from None
