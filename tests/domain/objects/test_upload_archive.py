"""Uploaded zips are unpacked within a byte budget that counts what is really inflated."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from domain.core.errors import BadUserInput, LimitExceeded
from domain.objects.transfer.upload_archive import read_upload


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_members_within_the_budget_are_read_and_images_only_listed():
    files, images = read_upload("a.zip", _zip({"labels/a.txt": b"0 0.5 0.5 0.1 0.1\n", "images/a.jpg": b"x"}), 10**6, "f")
    assert files == {"labels/a.txt": b"0 0.5 0.5 0.1 0.1\n"} and images == {"images/a.jpg"}


def test_a_bomb_is_refused_by_its_declared_size():
    bomb = _zip({"annotations.json": b"\0" * 50_000_000})  # 50 MB of zeros in about 50 KB
    assert len(bomb) < 100_000
    with pytest.raises(LimitExceeded) as refused:
        read_upload("bomb.zip", bomb, 10_000_000, "input.file")
    assert refused.value.details["limit"] == "unpackedSize" and refused.value.field == "input.file"


def test_a_header_that_understates_a_member_cannot_inflate_past_it():
    """zipfile reads a member only up to its declared size, so the declared total bounds memory."""
    data = b"\0" * 2_000_000
    archive = bytearray(_zip({"annotations.json": data}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = archive.index(signature) + offset
        archive[at : at + 4] = struct.pack("<L", 100)  # uncompressed size: 100 bytes
    with pytest.raises(BadUserInput, match="not a readable zip"):
        read_upload("liar.zip", bytes(archive), 1000, "input.file")


def test_members_wait_on_disk_and_go_with_the_mapping():
    files, _ = read_upload("a.zip", _zip({"a.json": b"[1]", "b/c.txt": b"x" * 3_000_000}), 10**7, "f")
    folder = files._dir
    assert sorted(files) == ["a.json", "b/c.txt"] and len(files) == 2
    assert sum(p.stat().st_size for p in folder.iterdir()) == 3_000_003  # on disk, not in memory
    assert files["b/c.txt"] == b"x" * 3_000_000
    files.setdefault("images/x.jpg", b"")
    assert "images/x.jpg" in files and files["images/x.jpg"] == b"" and len(files) == 3
    del files
    import gc

    gc.collect()
    assert not folder.exists()


def test_a_refused_zip_leaves_no_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(LimitExceeded):
        read_upload("bomb.zip", _zip({"annotations.json": b"\0" * 5_000_000}), 1_000_000, "input.file")
    assert list(tmp_path.iterdir()) == []
