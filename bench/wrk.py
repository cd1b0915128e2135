"""wrk (Debian's package) as the load generator of the HTTP benches: it costs far less CPU than a
Python client on the same cores. `ensure_tools()` installs wrk and nginx with apt-get when absent
(the benches' own setup; never `make test`).

    result = run_wrk(url, connections=8, seconds=5, script=lua, headers={...})
    result.rate  # requests per second;  result.p50, result.p99 in ms;  result.requests
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

NGINX = Path("/usr/sbin/nginx")
# Debian package of each tool the benches run.
PACKAGES = {"wrk": "wrk", str(NGINX): "nginx-light"}


def ensure_tools(*tools: str) -> None:
    """Install the Debian packages of `tools` (names on PATH or absolute paths) that are missing."""
    missing = [PACKAGES[t] for t in tools if not (Path(t).exists() if t.startswith("/") else shutil.which(t))]
    if missing:
        print(f"installing {', '.join(missing)} with apt-get (bench dependencies)")
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, stdout=subprocess.DEVNULL)


@dataclass(frozen=True)
class WrkResult:
    rate: float  # requests per second
    requests: int
    p50: float  # ms
    p99: float  # ms
    errors: str  # wrk's lines about socket errors and non-2xx answers; "" when none


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency(out: str, percent: str) -> float:
    match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {percent}% latency in wrk's output:\n{out}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str,
    connections: int = 8,
    seconds: float = 5.0,
    threads: int = 2,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """One wrk run against `url` (the path of requests a `script` makes is its own)."""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            args += ["-s", lua.name]
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = "; ".join(
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    return WrkResult(
        float(rate.group(1)), int(total.group(1)), _latency(out, "50"), _latency(out, "99"), errors
    )
