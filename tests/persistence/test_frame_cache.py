"""The frame cache alone: bounded by bytes in memory and on disk, least recently used out first,
files found again by a new cache on the same folder (a restart)."""

from __future__ import annotations

import threading
from pathlib import Path

from persistence.frame_cache import FrameCache


def test_memory_is_bounded_by_bytes_and_evicts_the_least_recently_used():
    cache = FrameCache(memory_bytes=250)
    for key in "abc":
        cache.store(key, key.encode() * 100)
    # 300 bytes asked, 250 allowed: "a" (the oldest) went.
    assert cache.get("a") is None
    assert cache.get("b") == b"b" * 100 and cache.memory_bytes == 200 and len(cache) == 2
    cache.store("d", b"d" * 100)  # "b" was just used: "c" goes
    assert cache.get("c") is None
    assert cache.get("b") is not None and cache.get("d") is not None
    assert cache.memory_bytes == 200


def test_an_entry_larger_than_the_limit_is_not_kept_and_zero_keeps_nothing():
    cache = FrameCache(memory_bytes=50)
    cache.store("big", b"x" * 51)
    assert cache.get("big") is None and cache.memory_bytes == 0
    none = FrameCache(memory_bytes=0)
    none.store("a", b"a")
    assert none.get("a") is None and none.load("a") is None


def test_the_same_key_stored_again_is_counted_once():
    cache = FrameCache(memory_bytes=1000)
    cache.store("a", b"1" * 100)
    cache.store("a", b"2" * 300)
    assert cache.memory_bytes == 300 and cache.get("a") == b"2" * 300


def test_a_disk_folder_outlives_the_cache_and_is_bounded(tmp_path: Path):
    folder = tmp_path / "frames"
    first = FrameCache(memory_bytes=1000, folder=folder, disk_bytes=250)
    for key in "abc":
        first.store(key, key.encode() * 100)
    assert first.disk_bytes == 200
    assert sorted(p.name for p in folder.iterdir()) == sorted(FrameCache.file_name(k) for k in "bc")

    # A new process: nothing in memory, the files found again and read on demand.
    second = FrameCache(memory_bytes=1000, folder=folder, disk_bytes=250)
    assert second.get("c") is None  # memory only
    assert second.disk_bytes == 200
    assert second.load("c") == b"c" * 100 and second.get("c") == b"c" * 100
    assert second.load("a") is None

    # A smaller limit on restart trims the folder to it, oldest files first.
    third = FrameCache(memory_bytes=0, folder=folder, disk_bytes=100)
    assert third.disk_bytes == 100 and len(list(folder.iterdir())) == 1


def test_a_file_removed_behind_its_back_is_a_miss(tmp_path: Path):
    cache = FrameCache(memory_bytes=0, folder=tmp_path, disk_bytes=1000)
    cache.store("a", b"a" * 10)
    (tmp_path / FrameCache.file_name("a")).unlink()
    assert cache.load("a") is None and cache.disk_bytes == 0


def test_half_written_files_are_swept_and_threads_share_the_cache(tmp_path: Path):
    (tmp_path / "x.jpg.123.partial").write_bytes(b"half")
    cache = FrameCache(memory_bytes=10_000, folder=tmp_path, disk_bytes=10_000)
    assert not list(tmp_path.glob("*.partial"))

    def work(n: int) -> None:
        for i in range(50):
            cache.store(f"{n}-{i}", bytes([n]) * 20)
            assert cache.load(f"{n}-{i}") == bytes([n]) * 20

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.memory_bytes == 4000 and cache.disk_bytes == 4000
