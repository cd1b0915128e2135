"""nginx (Debian's package) serving a folder of files, as a process of its own with a generated
config under a temp dir: the static-file server the frames bench measures annograph against.

    with serving_files(folder) as base_url: ...   # GET {base_url}/<file name>
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.wrk import NGINX, ensure_tools

# Debian's defaults where they matter for speed (worker_processes auto, sendfile, tcp_nopush, ETag),
# no access log (annograph's bench server logs no requests either).
CONFIG = """daemon off;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types {{ image/jpeg jpg; }}
  default_type application/octet-stream;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ etag on; }}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving_files(root: Path, workers: str = "auto") -> Iterator[str]:
    """nginx serving `root` on a free loopback port until the block ends; yields its base URL."""
    ensure_tools(str(NGINX))
    with tempfile.TemporaryDirectory(prefix="annograph-nginx-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(CONFIG.format(workers=workers, tmp=tmp, port=port, root=Path(root).resolve()))
        # Workers run as an unprivileged user when nginx starts as root: they must read the files.
        for folder in (Path(tmp), Path(root)):
            os.chmod(folder, 0o755)
        process = subprocess.Popen([str(NGINX), "-c", str(conf), "-p", tmp, "-e", f"{tmp}/error.log"])
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(Path(tmp) / 'error.log').read_text()}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
