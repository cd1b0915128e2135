"""Half-written files a killed process left are swept; fresh ones (another process writing) are not."""

from __future__ import annotations

import os
import time

from domain.core.leftovers import sweep_partials


def _aged(path, seconds: float):
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_stale_partials_go_and_fresh_ones_stay(tmp_path):
    var, exports = tmp_path / "var", tmp_path / "data" / "exports"
    upload = var / "videos" / "abc"
    upload.mkdir(parents=True)
    stale_upload = upload / "video.mp4.partial"
    stale_upload.write_bytes(b"half a video")
    _aged(stale_upload, 3600)
    live = var / "videos" / "def"
    live.mkdir()
    (live / "video.mp4.partial").write_bytes(b"being written")
    artifact = var / "artifacts" / "7"
    artifact.mkdir(parents=True)
    zip_partial = artifact / "export.zip.partial"
    zip_partial.write_bytes(b"pk")
    _aged(zip_partial, 3600)
    kept = artifact / "export.zip"
    kept.write_bytes(b"whole")
    _aged(kept, 3600)
    folder = exports / ".curated.12.partial"
    (folder / "episodes").mkdir(parents=True)
    (folder / "episodes" / "episode_000000.hdf5").write_bytes(b"h")
    _aged(folder, 3600)
    deep = exports / "finished" / ".episode_000001.hdf5.abc.partial"  # inside a dataset: not walked
    deep.parent.mkdir(parents=True)
    deep.write_bytes(b"h")
    _aged(deep, 3600)

    assert sweep_partials(var, exports) == 3
    assert not upload.exists()  # the upload's folder went with its partial
    assert (live / "video.mp4.partial").exists() and kept.exists() and not zip_partial.exists()
    assert not folder.exists() and deep.exists()
    assert sweep_partials(var, tmp_path / "missing") == 0
