"""annograph's HDF5 layout: headers only, clear problems naming the file and dataset, episodes kept open."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from persistence.episode_sources import SourceError, path_ref
from persistence.episode_sources import hdf5 as hdf5_source
from persistence.episode_sources.hdf5 import Options, read_info, scan, scan_episode
from persistence.episode_sources.readers import EpisodeReaders
from tests.factories import write_dataset, write_episode


def test_scan_reads_shapes_and_attributes(tmp_path):
    folder = write_dataset(
        tmp_path / "d", episodes=1, lengths=[45], cameras=("front", "wrist"), size=(24, 32)
    )
    header = scan_episode(folder, folder / "episodes" / "episode_000000.hdf5", 30.0)
    assert (header.index, header.file, header.length, header.task_index) == (
        0,
        "episodes/episode_000000.hdf5",
        45,
        0,
    )
    assert header.cameras == {"front": [45, 24, 32], "wrist": [45, 24, 32]}
    assert header.missing == []
    assert header.duration == pytest.approx(45 / 30)


def test_scan_names_missing_optional_datasets(tmp_path):
    path = tmp_path / "episodes" / "episode_000004.hdf5"
    write_episode(path, 4, 20, skip=("observation.ee_pose", "observation.gripper"), task_index=None)
    header = scan_episode(tmp_path, path, 30.0)
    assert header.index == 4 and header.task_index is None and header.task_indexes == []
    assert header.missing == ["observation.ee_pose", "observation.gripper"]


def test_scan_rejects_bad_files(tmp_path):
    path = tmp_path / "episodes" / "episode_000000.hdf5"
    write_episode(path, 0, 20)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(SourceError, match="truncated") as error:
        scan_episode(tmp_path, path, 30.0)
    assert error.value.path == "episodes/episode_000000.hdf5"

    with h5py.File(path, "w") as f:
        f.create_dataset("observation.images.front", data=np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(SourceError, match="N x H x W x 3") as error:
        scan_episode(tmp_path, path, 30.0)
    assert error.value.where == "/observation.images.front"

    with h5py.File(path, "w") as f:
        f.create_group("observation.state")
    with pytest.raises(SourceError, match="a group where an array belongs") as error:
        scan_episode(tmp_path, path, 30.0)
    assert error.value.where == "/observation.state"

    with h5py.File(path, "w") as f:
        f.attrs["task_index"] = 1
    with pytest.raises(SourceError, match="holds no timestamp, state or camera"):
        scan_episode(tmp_path, path, 30.0)


def test_info_variants(tmp_path):
    (tmp_path / "info.json").write_text(
        '{"fps": 10, "tasks": ["a", "b"], "features": {"observation.images.top": {}}}'
    )
    write_episode(tmp_path / "episodes" / "episode_000000.hdf5", 0, 5)
    found = scan(tmp_path, Options())
    assert found.name == tmp_path.name and found.tasks == [(0, "a"), (1, "b")] and found.cameras == ["top"]
    (tmp_path / "info.json").write_text('{"fps": 10, "tasks": [{"index": 0}]}')
    with pytest.raises(SourceError, match="needs a 'description'") as error:
        scan(tmp_path, Options())
    assert error.value.where == "tasks[0]"
    (tmp_path / "info.json").write_text("[1, 2]")
    with pytest.raises(SourceError, match="must hold an object"):
        read_info(tmp_path)


def test_rescan_reads_only_changed_files(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "d", episodes=3, lengths=[10, 11, 12])
    first = scan(folder, Options())
    previous = {e.file: e for e in first.episodes}
    read = []
    real = hdf5_source.scan_episode
    monkeypatch.setattr(hdf5_source, "scan_episode", lambda *a: read.append(a[1].name) or real(*a))
    again = scan(folder, Options(), previous)
    assert read == [] and [e.length for e in again.episodes] == [10, 11, 12]
    write_episode(folder / "episodes" / "episode_000001.hdf5", 1, 20)
    again = scan(folder, Options(), previous)
    assert read == ["episode_000001.hdf5"] and [e.length for e in again.episodes] == [10, 20, 12]


def test_cache_keeps_files_open_and_reopens_changed_ones(tmp_path, monkeypatch):
    path = tmp_path / "episodes" / "episode_000000.hdf5"
    write_episode(path, 0, 10)
    opened = []
    real_file = h5py.File

    def counting(*args, **kwargs):
        if args[1:2] == ("r",):  # reads only: the factory writes through h5py.File too
            opened.append(args[0])
        return real_file(*args, **kwargs)

    monkeypatch.setattr(hdf5_source.h5py, "File", counting)
    cache = EpisodeReaders(size=2)
    first = cache.read_frame(path_ref(path), "front", 3)
    cache.read_frame(path_ref(path), "front", 4)
    arrays = cache.read_arrays(path_ref(path), ["timestamp", "nope"], slice(0, 10, 5))
    assert len(opened) == 1
    assert first.shape == (48, 64, 3) and list(arrays) == ["timestamp"] and len(arrays["timestamp"]) == 2

    # Files are replaced, not rewritten in place (HDF5 refuses to truncate an open file).
    fresh = tmp_path / "fresh.hdf5"
    write_episode(fresh, 0, 12)
    stat = path.stat()
    os.utime(fresh, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    os.replace(fresh, path)
    assert cache.read_arrays(path_ref(path), ["timestamp"], slice(None))["timestamp"].shape == (12,)
    assert len(opened) == 2

    others = [tmp_path / f"e{i}.hdf5" for i in range(3)]
    for i, other in enumerate(others):
        write_episode(other, i, 5)
        cache.read_frame(path_ref(other), "front", 0)
    assert len(cache._open) == 2  # least recently used episodes are closed
    cache.close()
