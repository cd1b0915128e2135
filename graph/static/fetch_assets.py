"""Fetch GraphiQL's browser files again from the npm registry and check them against the manifest.

    python graph/static/fetch_assets.py          # (`make graphiql-assets`) fetch, check, write
    python graph/static/fetch_assets.py --check  # only check the files on disk; no network

Each manifest entry (graph/static/graphiql/manifest.json) names an npm package, its version, a path
inside it and the file's sha384; `npm pack` downloads the package. A file whose hash differs is not
written and the script exits 1. To move to a new version, edit the manifest's version and integrity
(the script prints the integrity it found).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent / "graphiql"


def integrity_of(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def fetch(package: str, version: str, workdir: Path) -> Path:
    """The package's tarball, downloaded with `npm pack` into workdir."""
    out = subprocess.run(
        ["npm", "pack", "--silent", f"{package}@{version}"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return workdir / out[-1]


def main(argv: list[str]) -> int:
    check_only = "--check" in argv
    assets = json.loads((ASSET_DIR / "manifest.json").read_text())["assets"]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        tarballs: dict[str, Path] = {}
        for entry in assets:
            target = ASSET_DIR / entry["file"]
            if check_only:
                data = target.read_bytes() if target.is_file() else b""
            else:
                key = f"{entry['package']}@{entry['version']}"
                if key not in tarballs:
                    tarballs[key] = fetch(entry["package"], entry["version"], Path(tmp))
                with tarfile.open(tarballs[key]) as tar:
                    member = tar.extractfile(f"package/{entry['path']}")
                    data = member.read() if member is not None else b""
            found = integrity_of(data)
            if found != entry["integrity"]:
                bad += 1
                print(f"{entry['file']}: {found} != manifest {entry['integrity']}", file=sys.stderr)
                continue
            if not check_only:
                target.write_bytes(data)
            print(f"{entry['file']}: ok ({entry['package']}@{entry['version']}, {len(data)} bytes)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
