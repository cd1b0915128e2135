"""write_edited_episode: the edited HDF5 episode read back with h5py and checked against the source."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image, ImageEnhance

import domain.edits.hdf5_writer as writer
from domain.core.errors import BadUserInput
from domain.edits import (
    CameraEdit,
    Crop,
    EpisodeEdits,
    Resize,
    ResizeFilter,
    kept_frames,
    write_edited_episode,
)
from domain.edits.sources import Hdf5Source
from persistence.episode_sources import TRAJECTORY_DATASETS
from tests.factories import write_episode

LENGTH = 40
EDITS = EpisodeEdits(
    removed_frames=(3, 7),
    removed_ranges=((10, 14),),
    trim=(1, 35),
    cameras={
        "front": CameraEdit(
            crop=Crop(4, 6, 50, 36),
            resize=Resize(40, 30, ResizeFilter.BICUBIC),
            brightness=1.2,
            contrast=0.9,
            saturation=1.4,
            rotate=90,
        )
    },
)


def make_source(folder: Path, *, length: int = LENGTH, skip: tuple[str, ...] = ()) -> Path:
    """The factory's episode with textured frames, so every pixel operation shows."""
    path = folder / "source" / "episode_000000.hdf5"
    write_episode(path, 0, length, cameras=("front", "side"), size=(48, 64), task_index=3, skip=skip)
    rng = np.random.default_rng(1)
    with h5py.File(path, "a") as f:
        for camera in ("front", "side"):
            ds = f[f"observation.images.{camera}"]
            ds[...] = rng.integers(0, 256, ds.shape, dtype=np.uint8)
    return path


def front_by_hand(frame: np.ndarray) -> np.ndarray:
    image = Image.fromarray(frame).crop((4, 6, 54, 42)).resize((40, 30), Image.Resampling.BICUBIC)
    image = image.transpose(Image.Transpose.ROTATE_90)
    image = ImageEnhance.Brightness(image).enhance(1.2)
    image = ImageEnhance.Contrast(image).enhance(0.9)
    return np.asarray(ImageEnhance.Color(image).enhance(1.4))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


def test_edited_episode_matches_the_source_at_the_kept_frames(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    target = tmp_path / "out" / "episode_000000.hdf5"
    calls: list[tuple[int, int]] = []
    summary = write_edited_episode(
        source,
        target,
        EDITS,
        chunk_frames=4,
        progress=lambda d, t: calls.append((d, t)),
        attrs={"annograph.job": 12, "annograph.options": {"gzip": 4}},
    )
    kept = kept_frames(EDITS, LENGTH)
    assert kept.tolist() == [1, 2, 4, 5, 6, 8, 9, *range(15, 36)]
    n = len(kept)
    assert summary.frames == n == 28
    assert summary.cameras == {"front": (40, 30), "side": (48, 64)}
    assert summary.bytes == target.stat().st_size
    assert summary.datasets["observation.images.front"] == ("uint8", (40, 30, 3))
    assert calls == [(min(i + 4, n), n) for i in range(0, n, 4)]

    with h5py.File(source, "r") as src, h5py.File(target, "r") as out:
        assert set(out) == set(src) | {"annograph.source_frames"}
        per_frame = {k: (out[k].dtype.name, out[k].shape[1:]) for k in src if src[k].shape[:1] == (LENGTH,)}
        assert summary.datasets == per_frame
        for name in TRAJECTORY_DATASETS:
            assert out[name].shape == (n, *src[name].shape[1:])
            assert out[name].dtype == src[name].dtype
            assert np.array_equal(out[name][:], src[name][:][kept]), name
        front = out["observation.images.front"]
        assert front.shape == (n, 40, 30, 3) and front.dtype == np.uint8
        source_front = src["observation.images.front"][:]
        for i, s in enumerate(kept):
            assert np.array_equal(front[i], front_by_hand(source_front[s])), f"frame {i} (source {s})"
        side = out["observation.images.side"]
        assert side.shape == (n, 48, 64, 3)
        assert np.array_equal(side[:], src["observation.images.side"][:][kept])
        for ds in (front, side):
            assert ds.chunks == (1, *ds.shape[1:])
            assert ds.compression == "gzip" and ds.compression_opts == 4
        assert out.attrs["task_index"] == 3
        assert json.loads(out.attrs["annograph.edits"]) == EDITS.to_json()
        assert EpisodeEdits.from_json(json.loads(out.attrs["annograph.edits"])) == EDITS
        # The file leaves the server: its provenance names the source file, never the folder it is in.
        assert out.attrs["annograph.source"] == source.name
        assert str(tmp_path) not in json.dumps({k: str(v) for k, v in out.attrs.items()})
        assert out["annograph.source_frames"][:].tolist() == kept.tolist()
        assert out.attrs["annograph.job"] == 12
        assert json.loads(out.attrs["annograph.options"]) == {"gzip": 4}
    assert leftovers(target.parent) == []


def test_datasets_the_source_lacks_stay_absent_and_others_are_copied(tmp_path: Path) -> None:
    source = make_source(tmp_path, skip=("action", "observation.velocity"))
    with h5py.File(source, "a") as f:
        f["calibration"] = np.eye(3)
        f["observation.effort"] = np.arange(LENGTH * 2, dtype=np.float32).reshape(LENGTH, 2)
        f.create_group("meta").create_dataset("notes", data=np.arange(5))
        f["meta"].attrs["robot"] = "arm"
    target = tmp_path / "out.hdf5"
    write_edited_episode(source, target, EpisodeEdits(trim=(5, 9)))
    with h5py.File(target, "r") as out:
        assert "action" not in out and "observation.velocity" not in out
        assert out["timestamp"].shape == (5,)
        assert np.array_equal(out["calibration"][:], np.eye(3))
        assert np.array_equal(out["observation.effort"][:], np.arange(10, 20, dtype=np.float32).reshape(5, 2))
        assert out["meta/notes"][:].tolist() == [0, 1, 2, 3, 4] and out["meta"].attrs["robot"] == "arm"


def test_reads_never_exceed_a_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(tmp_path)
    sizes: list[int] = []
    read = Hdf5Source.read

    def counted(self: Hdf5Source, name: str, indices: np.ndarray) -> np.ndarray:
        block = read(self, name, indices)
        sizes.append(len(block))
        return block

    monkeypatch.setattr(Hdf5Source, "read", counted)
    write_edited_episode(
        source, tmp_path / "out.hdf5", EpisodeEdits(removed_ranges=((3, 30),)), chunk_frames=5
    )
    # 12 kept frames in chunks of 5, 5 and 2, for each of the 8 per-frame datasets.
    assert sorted(set(sizes)) == [2, 5] and len(sizes) == 3 * 8


def test_a_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_source(tmp_path)
    with h5py.File(source, "r") as f:
        frames = f["observation.images.front"][:]
    # Frames are transformed in threads, in no fixed order: recognise those of the 3rd chunk of 4.
    third_chunk = {frames[s].tobytes() for s in kept_frames(EDITS, LENGTH)[8:12]}
    apply = writer.apply_camera_edit

    def failing(frame: np.ndarray, edit: CameraEdit) -> np.ndarray:
        if frame.tobytes() in third_chunk:
            raise RuntimeError("disk on fire")
        return apply(frame, edit)

    monkeypatch.setattr(writer, "apply_camera_edit", failing)
    done: list[int] = []
    target = tmp_path / "out" / "episode_000000.hdf5"
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_edited_episode(source, target, EDITS, chunk_frames=4, progress=lambda d, t: done.append(d))
    assert done == [4, 8]
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_a_failure_keeps_the_previous_export(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    target = tmp_path / "episode_000000.hdf5"
    write_edited_episode(source, target, EpisodeEdits(trim=(0, 9)))
    before = target.read_bytes()

    def cancel(done: int, total: int) -> None:
        if done >= 8:
            raise KeyboardInterrupt  # any exception, even one that is not an Exception

    with pytest.raises(KeyboardInterrupt):
        write_edited_episode(source, target, EDITS, chunk_frames=4, progress=cancel)
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_edits_that_do_not_fit_the_file_are_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path, length=10)
    target = tmp_path / "out.hdf5"
    with pytest.raises(BadUserInput) as caught:
        write_edited_episode(source, target, EpisodeEdits(removed_frames=(12,)))
    assert caught.value.field == "edits.removedFrames[0]"
    with pytest.raises(BadUserInput) as caught:
        write_edited_episode(source, target, EpisodeEdits(cameras={"top": CameraEdit(rotate=90)}))
    assert caught.value.field == "edits.cameras.top"
    assert not target.exists() and leftovers(tmp_path) == []


def test_an_inconsistent_source_is_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    with h5py.File(source, "a") as f:
        del f["observation.images.side"]
        f.create_dataset("observation.images.side", data=np.zeros((LENGTH - 1, 8, 8, 3), np.uint8))
    target = tmp_path / "out.hdf5"
    with pytest.raises(ValueError, match="observation.images.side has 39 frames"):
        write_edited_episode(source, target, EpisodeEdits())
    assert not target.exists() and leftovers(tmp_path) == []


def test_reserved_attributes_and_bad_chunk_sizes_are_refused(tmp_path: Path) -> None:
    source = make_source(tmp_path, length=5)
    with pytest.raises(ValueError, match="annograph.source"):
        write_edited_episode(source, tmp_path / "a.hdf5", EpisodeEdits(), attrs={"annograph.source": "x"})
    with pytest.raises(ValueError, match="chunk_frames"):
        write_edited_episode(source, tmp_path / "a.hdf5", EpisodeEdits(), chunk_frames=0)
    assert not (tmp_path / "a.hdf5").exists()


def test_an_edited_episode_can_be_edited_again(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    first = tmp_path / "first.hdf5"
    second = tmp_path / "second.hdf5"
    write_edited_episode(source, first, EpisodeEdits(trim=(10, 29)))
    summary = write_edited_episode(
        first, second, EpisodeEdits(removed_frames=(0,), cameras={"side": CameraEdit(rotate=180)})
    )
    assert summary.frames == 19
    with h5py.File(source, "r") as src, h5py.File(second, "r") as out:
        # Source frames are indices into the file edited, here the first export.
        assert out["annograph.source_frames"][:].tolist() == list(range(1, 20))
        assert out.attrs["annograph.source"] == first.name
        assert np.array_equal(out["observation.state"][:], src["observation.state"][11:30])
        want = src["observation.images.side"][11:30][:, ::-1, ::-1]
        assert np.array_equal(out["observation.images.side"][:], want)


def test_threads_and_chunk_sizes_do_not_change_the_output(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    outputs = []
    for threads, chunk_frames in ((1, 1), (3, 7), (2, 64)):
        target = tmp_path / f"out_{threads}_{chunk_frames}.hdf5"
        write_edited_episode(source, target, EDITS, chunk_frames=chunk_frames, threads=threads)
        with h5py.File(target, "r") as out:
            outputs.append({name: out[name][:] for name in out})
    for other in outputs[1:]:
        assert other.keys() == outputs[0].keys()
        for name, array in other.items():
            assert np.array_equal(array, outputs[0][name]), name


def test_an_episode_without_cameras(tmp_path: Path) -> None:
    source = tmp_path / "episode_000000.hdf5"
    write_episode(source, 0, 30, cameras=())
    calls: list[tuple[int, int]] = []
    summary = write_edited_episode(
        source,
        tmp_path / "out.hdf5",
        EpisodeEdits(removed_ranges=((0, 9),)),
        chunk_frames=8,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert summary.frames == 20 and summary.cameras == {}
    assert calls == [(8, 20), (16, 20), (20, 20)]
    with h5py.File(source, "r") as src, h5py.File(tmp_path / "out.hdf5", "r") as out:
        assert np.array_equal(out["observation.state"][:], src["observation.state"][10:])
