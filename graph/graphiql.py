"""GraphiQL, served by annograph itself: the page at GET /graphql (browsers) and its files.

The browser files (React, GraphiQL, its explorer plugin) are vendored in graph/static/graphiql/ with
a manifest naming each file's npm package, version and sha384; the page loads them from
ASSETS_PATH with `integrity` attributes, so GraphiQL needs no network. A missing or altered file is
a readable 500 page naming it, never a blank one.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

ASSET_DIR = Path(__file__).parent / "static" / "graphiql"
MANIFEST = ASSET_DIR / "manifest.json"
ASSETS_PATH = "/graphiql-assets"
RESTORE = (
    "run `make graphiql-assets` in the annograph checkout (it fetches the files again from the npm "
    "registry and checks their hashes), or reinstall annograph"
)


@dataclass(frozen=True)
class Asset:
    file: str  # name in ASSET_DIR and under ASSETS_PATH
    package: str  # npm package
    version: str
    path: str  # path inside the package
    integrity: str  # "sha384-<base64>", as in a Subresource Integrity attribute


def manifest() -> list[Asset]:
    """The vendored files, in load order. Raises OSError/ValueError when the manifest is unreadable."""
    return [Asset(**entry) for entry in json.loads(MANIFEST.read_text())["assets"]]


def integrity_of(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@functools.lru_cache(maxsize=32)
def _file_integrity(path: Path, mtime_ns: int, size: int) -> str:
    # Keyed on mtime and size: 4 MB are hashed once per change of the file, not per page.
    return integrity_of(path.read_bytes())


def problems() -> list[str]:
    """What keeps GraphiQL from loading: one line per missing or altered file (empty when none)."""
    try:
        assets = manifest()
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return [f"{MANIFEST}: unreadable ({exc})"]
    found = []
    for asset in assets:
        path = ASSET_DIR / asset.file
        try:
            stat = path.stat()
        except OSError:
            found.append(f"{path}: missing ({asset.package}@{asset.version} {asset.path})")
            continue
        if _file_integrity(path, stat.st_mtime_ns, stat.st_size) != asset.integrity:
            found.append(f"{path}: does not match its sha384 ({asset.package}@{asset.version} {asset.path})")
    return found


def _served(name: str, path: Path) -> bool:
    """Whether `name` is a file the manifest names and it is on disk (file I/O: run it in a thread)."""
    try:
        known = {a.file for a in manifest()}
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return name in known and path.is_file()


async def asset(request: Request) -> Response:
    """GET /graphiql-assets/{file}: a file the manifest names (anything else is 404)."""
    name = request.path_params["file"]
    path = ASSET_DIR / name
    if not await asyncio.to_thread(_served, name, path):
        return PlainTextResponse(f"no GraphiQL file {name!r}: {RESTORE}", status_code=404)
    # The page names each file with its version and hash (?v=), so a browser may keep it.
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})


def page(signed_in: bool) -> HTMLResponse:
    """The GraphiQL page; `signed_in` False adds a banner saying how to sign in, True a sign-out button."""
    found = problems()
    if found:
        items = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in found)
        body = (
            "<h1>GraphiQL cannot load</h1><p>Files it needs are missing or altered:</p>"
            f"<ul>{items}</ul><p>To restore them, {_code(html.escape(RESTORE))}.</p>"
            "<p>The API itself works: POST queries to <code>/graphql</code>.</p>"
        )
        return HTMLResponse(_PLAIN.format(body=body), status_code=500)
    tags = []
    for a in manifest():
        url = html.escape(f"{ASSETS_PATH}/{a.file}?v={a.version}")
        integrity = html.escape(a.integrity)
        if a.file.endswith(".css"):
            tag = f'<link rel="stylesheet" href="{url}" integrity="{integrity}" onerror="failed(this)">'
        else:
            tag = f'<script src="{url}" integrity="{integrity}" onerror="failed(this)"></script>'
        tags.append(tag)
    banner = _SIGNED_IN if signed_in else _SIGN_IN
    return HTMLResponse(
        _PAGE.replace("{banner}", banner)
        .replace("{assets}", "\n    ".join(tags))
        .replace("{restore}", _code(html.escape(RESTORE)))
    )


def _code(text: str) -> str:
    # Backticks in RESTORE become <code>.
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


_PLAIN = """<!doctype html>
<html><head><meta charset="utf-8"><title>annograph: GraphiQL cannot load</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
code{{background:#eee;padding:0 .2em}}</style></head>
<body>{body}</body></html>
"""

_SIGN_IN = """<div id="sign-in" role="status">
  <strong>Not signed in.</strong> Queries run anonymously: <code>viewer</code> is null and most fields
  answer <code>UNAUTHENTICATED</code>. To sign in, run <code>annograph login</code> where the server runs
  and open the one-time link it prints in this browser; or put an API token in the Headers tab below:
  <code>{"Authorization": "Bearer ag_..."}</code>.
</div>"""

# A POST form, not a link: a GET /logout also works, but a button cannot be set off by a prefetch.
_SIGNED_IN = """<form id="signed-in" method="post" action="/logout">
  Signed in with a browser session. <button type="submit">Sign out</button>
</form>"""

_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>annograph GraphiQL</title>
    <link rel="icon" href="data:,">
    <style>
      body { height: 100vh; margin: 0; display: flex; flex-direction: column; overflow: hidden; }
      #graphiql { flex: 1; min-height: 0; display: flex; }
      #sign-in { font: 14px/1.4 system-ui, sans-serif; padding: 8px 16px; background: #fff4ce;
        border-bottom: 1px solid #e0c060; }
      #signed-in { font: 13px/1.4 system-ui, sans-serif; padding: 4px 16px; text-align: right;
        border-bottom: 1px solid #ddd; margin: 0; }
      #sign-in code, #load-error code { background: rgba(0,0,0,.07); padding: 0 .2em; }
      #load-error { font: 16px/1.5 system-ui, sans-serif; padding: 2rem; }
    </style>
    <script>
      // A file that fails to load (or fails its integrity check) says so instead of a blank page.
      function failed(element) {
        const box = document.getElementById("graphiql");
        const name = (element.src || element.href || "").split("?")[0];
        box.innerHTML = '<div id="load-error"><h1>GraphiQL cannot load</h1>'
          + '<p>This file did not load: <code></code></p><p>To restore it, {restore}.</p></div>';
        box.querySelector("code").textContent = name;
      }
    </script>
  </head>
  <body>
    {banner}
    <div id="graphiql">Loading GraphiQL...</div>
    {assets}
    <script>
      if (window.GraphiQL && window.React && window.ReactDOM && window.GraphiQLPluginExplorer) {
        const url = window.location.origin + window.location.pathname;
        const fetcher = GraphiQL.createFetcher({
          url: url,
          subscriptionUrl: url.replace(/^http/, "ws"),
        });
        window.annographFetcher = fetcher;  // for scripts and tests driving the page
        const explorer = GraphiQLPluginExplorer.explorerPlugin();
        const parameters = new URLSearchParams(window.location.search);
        function App() {
          return React.createElement(GraphiQL, {
            fetcher: fetcher,
            plugins: [explorer],
            defaultQuery: parameters.get("query") || undefined,
            defaultEditorToolsVisibility: true,
            inputValueDeprecation: true,
            isHeadersEditorEnabled: true,
            shouldPersistHeaders: true,
          });
        }
        ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
      }
    </script>
  </body>
</html>
"""
