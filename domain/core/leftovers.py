"""Files a killed process left half-written: `*.partial` uploads, artifacts and export folders.

Writers build under a `.partial` name and rename when whole; a `kill -9` leaves the partial behind
(63 MB for a video upload). The server sweeps them at start. Only those untouched for `older_than`
seconds go: a partial another live process is still writing has a fresh mtime.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger("annograph.leftovers")

STALE_SECONDS = 600.0


def sweep_partials(var_dir: Path, exports: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove `*.partial` files and folders anywhere under `var_dir` (uploads, artifacts) and directly in
    `exports` (dataset exports under the first data root; never a walk through the datasets) not modified
    for `older_than` seconds, and the upload folders they leave empty; returns how many were removed.
    Blocking: run in a thread."""
    cutoff = time.time() - older_than
    removed = 0
    found = [*(var_dir.rglob("*.partial") if var_dir.is_dir() else ())]
    found += [*(exports.glob("*.partial") if exports.is_dir() else ())]
    for path in sorted(found, key=lambda p: len(p.parts), reverse=True):
        try:
            if path.lstat().st_mtime > cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:  # gone meanwhile, or a read-only data root
            log.debug("left %s: %s", path, exc)
            continue
        removed += 1
        parent = path.parent
        if parent.parent == var_dir / "videos" and not any(parent.iterdir()):
            parent.rmdir()  # the upload's own folder, now empty
    if removed:
        log.info("removed %d half-written files a stopped process left", removed)
    return removed
