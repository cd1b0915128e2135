"""Reading dataset folders and episode files: headers only, clear problems, files kept open."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from persistence import episode_files
from persistence.episode_files import EpisodeFileCache, EpisodeFileError, read_info, scan_episode
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
    assert header.index == 4 and header.task_index is None
    assert header.missing == ["observation.ee_pose", "observation.gripper"]


def test_scan_rejects_bad_files(tmp_path):
    path = tmp_path / "episodes" / "episode_000000.hdf5"
    write_episode(path, 0, 20)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(EpisodeFileError, match="truncated") as error:
        scan_episode(tmp_path, path, 30.0)
    assert error.value.path == "episodes/episode_000000.hdf5"

    with h5py.File(path, "w") as f:
        f.create_dataset("observation.images.front", data=np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(EpisodeFileError, match="N x H x W x 3"):
        scan_episode(tmp_path, path, 30.0)

    with h5py.File(path, "w") as f:
        f.attrs["task_index"] = 1
    with pytest.raises(EpisodeFileError, match="holds no timestamp, state or camera"):
        scan_episode(tmp_path, path, 30.0)


def test_info_variants(tmp_path):
    (tmp_path / "info.json").write_text(
        '{"fps": 10, "tasks": ["a", "b"], "features": {"observation.images.top": {}}}'
    )
    info = read_info(tmp_path)
    assert info.name == tmp_path.name and info.tasks == [(0, "a"), (1, "b")] and info.cameras == ["top"]
    (tmp_path / "info.json").write_text('{"fps": 10, "tasks": [{"index": 0}]}')
    with pytest.raises(EpisodeFileError, match=r"tasks\[0\] needs a 'description'"):
        read_info(tmp_path)
    (tmp_path / "info.json").write_text("[1, 2]")
    with pytest.raises(EpisodeFileError, match="must hold an object"):
        read_info(tmp_path)


def test_cache_keeps_files_open_and_reopens_changed_ones(tmp_path, monkeypatch):
    path = tmp_path / "episodes" / "episode_000000.hdf5"
    write_episode(path, 0, 10)
    opened = []
    real_file = h5py.File

    def counting(*args, **kwargs):
        if args[1:2] == ("r",):  # reads only: the factory writes through h5py.File too
            opened.append(args[0])
        return real_file(*args, **kwargs)

    monkeypatch.setattr(episode_files.h5py, "File", counting)
    cache = EpisodeFileCache(size=2)
    first = cache.read_frame(path, "front", 3)
    cache.read_frame(path, "front", 4)
    arrays = cache.read_arrays(path, ["timestamp", "nope"], slice(0, 10, 5))
    assert len(opened) == 1
    assert first.shape == (48, 64, 3) and list(arrays) == ["timestamp"] and len(arrays["timestamp"]) == 2

    # Files are replaced, not rewritten in place (HDF5 refuses to truncate an open file).
    fresh = tmp_path / "fresh.hdf5"
    write_episode(fresh, 0, 12)
    stat = path.stat()
    os.utime(fresh, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    os.replace(fresh, path)
    assert cache.read_arrays(path, ["timestamp"], slice(None))["timestamp"].shape == (12,)
    assert len(opened) == 2

    others = [tmp_path / f"e{i}.hdf5" for i in range(3)]
    for i, other in enumerate(others):
        write_episode(other, i, 5)
        cache.read_frame(other, "front", 0)
    assert len(cache._files) == 2  # least recently used files are closed
    cache.close()
