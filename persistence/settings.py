"""Runtime configuration from `ANNOGRAPH_*` environment variables (pydantic-settings).

Defaults make `make serve` work on a fresh machine: everything lives under `./var`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DB_SCHEMES = {"sqlite+aiosqlite", "postgresql+asyncpg"}
_BROADCAST_SCHEMES = {"memory", "redis", "rediss", "postgres", "postgresql"}


class SettingsError(RuntimeError):
    """A configuration value is wrong; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANNOGRAPH_", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""
    broadcast_url: str = "memory://"
    # Put before every live event channel: Redis pub/sub ignores the database number, so two
    # deployments on one Redis would hear each other. Empty: derived from the database URL.
    event_prefix: str = ""
    data_roots: Annotated[list[Path], NoDecode] = []
    # Where jobs run: `embedded` (asyncio tasks of the server that submits them) or `procrastinate`
    # (tasks of the procrastinate queue in PostgreSQL, run by `annograph worker` processes).
    job_queue: Literal["embedded", "procrastinate"] = "embedded"
    # procrastinate: seconds a stopping `annograph worker` (SIGTERM/SIGINT) lets its running jobs
    # finish; the ones still running then go back to the queue (PENDING) for another worker.
    worker_grace: float = 30.0
    # procrastinate: how many times a job whose worker stopped heartbeating is started in all.
    job_attempts: int = 3
    # Processes in the pool CPU-bound jobs (analysis) run in, per server or worker process; 0: one per CPU.
    worker_processes: int = 0
    # The only folder detection models are loaded from (plus Ultralytics' packaged architectures).
    models_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Host headers the server answers (DNS rebinding turns a browser into a client of any server that
    # answers every Host): comma-separated names, `*` for any. Default: the loopback names and `host`.
    allowed_hosts: Annotated[list[str], NoDecode] = []
    log_level: str = "INFO"
    page_size_max: int = 200
    page_size_default: int = 50
    file_cache_size: int = 64
    # Encoded camera frames kept by ETag (persistence/frame_cache.py): bytes of JPEG in memory (0: none),
    # and optionally a folder of them that outlives restarts, with its own limit in bytes.
    frame_cache_bytes: int = 268_435_456
    frame_cache_dir: Path | None = None
    frame_cache_disk_bytes: int = 4_294_967_296
    # Authentication may be off only on a loopback address; then every request is a local admin.
    auth: bool = True
    session_days: int = 7
    login_code_minutes: int = 15
    # Limits against abuse; a request over one is refused with LIMIT_EXCEEDED naming it.
    limits: bool = True  # off only for measuring their cost, and only on a loopback address
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 100_000
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 104_857_600
    # A multipart body may be this large: an annotation zip with its frames (only its annotation files
    # are read, and they count against max_unpacked_bytes); other uploads keep max_upload_bytes.
    max_archive_bytes: int = 4_294_967_296
    # Pixels of one camera frame (width x height): one decoded frame costs 3 bytes each. 8K is 33 million.
    max_frame_pixels: int = 40_000_000
    # Boxes one annotation import may create (each is a row and part of one transaction).
    max_import_boxes: int = 200_000
    # Bytes an uploaded annotation zip may unpack to (its annotation files are held in memory to parse).
    max_unpacked_bytes: int = 268_435_456
    introspection: bool = True
    graphiql: bool = True
    ws_init_timeout: float = 10.0
    # A session participant not seen (no cursor move, no open subscription) for this long is gone.
    presence_timeout: float = 30.0

    @field_validator("data_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        # A colon-separated list, like PATH; a JSON list would be awkward to type in a shell.
        if isinstance(value, str):
            return [Path(p) for p in value.split(":") if p.strip()]
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if value:
            scheme = urlparse(value).scheme
            if scheme in ("postgresql", "postgres"):
                value = "postgresql+asyncpg" + value[len(scheme) :]
            elif scheme == "sqlite":
                value = "sqlite+aiosqlite" + value[len(scheme) :]
            elif scheme not in _DB_SCHEMES:
                raise ValueError(
                    f"unsupported scheme {scheme!r}; use sqlite+aiosqlite:// or postgresql+asyncpg://"
                )
        return value

    @field_validator("broadcast_url")
    @classmethod
    def _check_broadcast(cls, value: str) -> str:
        scheme = urlparse(value).scheme
        if scheme not in _BROADCAST_SCHEMES:
            raise ValueError(f"unsupported scheme {scheme!r}; use memory://, redis:// or postgres://")
        return value

    @field_validator("port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("must be between 1 and 65535")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator(
        "page_size_max",
        "page_size_default",
        "file_cache_size",
        "session_days",
        "login_code_minutes",
        "max_depth",
        "max_aliases",
        "max_tokens",
        "max_cost",
        "max_body_bytes",
        "max_upload_bytes",
        "max_archive_bytes",
        "max_frame_pixels",
        "max_import_boxes",
        "max_unpacked_bytes",
        "job_attempts",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("worker_processes")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (one per CPU) or more")
        return value

    @field_validator("frame_cache_bytes", "frame_cache_disk_bytes")
    @classmethod
    def _not_negative_bytes(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no cache) or more bytes")
        return value

    @field_validator("ws_init_timeout", "presence_timeout", "worker_grace")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        for name in ("auth", "limits"):
            if not getattr(self, name) and not is_loopback(self.host):
                raise ValueError(
                    f"{name}: may be false only for a server bound to a loopback address, not {self.host!r}"
                )
        self.var_dir = self.var_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'annograph.db'}"
        if self.job_queue == "procrastinate" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                "job_queue: procrastinate needs a PostgreSQL database_url; SQLite runs jobs embedded"
            )
        if not self.event_prefix:
            self.event_prefix = derived_event_prefix(self.database_url)
        if not self.data_roots:
            self.data_roots = [self.var_dir / "datasets"]
        self.data_roots = [p.expanduser().resolve() for p in self.data_roots]
        self.models_dir = (self.models_dir or self.var_dir / "models").expanduser().resolve()
        if self.frame_cache_dir is not None:
            self.frame_cache_dir = self.frame_cache_dir.expanduser().resolve()
        if not self.allowed_hosts:
            wildcard = self.host in ("0.0.0.0", "::", "")
            self.allowed_hosts = ["localhost", "127.0.0.1", "[::1]", *([] if wildcard else [self.host])]
        return self

    @property
    def demo_dir(self) -> Path:
        return self.data_roots[0] / "demo"


def derived_event_prefix(database_url: str) -> str:
    """`annograph.<8 hex>.`: one deployment is one database, so its URL (without the password, which
    may rotate) names the deployment's channels."""
    parts = urlparse(database_url)
    identity = f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}{parts.path}"
    return f"annograph.{hashlib.sha256(identity.encode()).hexdigest()[:8]}."


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; a wrong value raises SettingsError naming the variable. `overrides` are
    field values (any type a field takes), checked as the environment's are."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise SettingsError(f"invalid configuration: {problems}") from None


def _describe(err: ErrorDetails) -> str:
    if err["loc"] and err["loc"][0]:
        return f"ANNOGRAPH_{str(err['loc'][0]).upper()}: {err['msg']}"
    # Checks across fields name their variable at the start of the message ("auth: ...").
    message = err["msg"].removeprefix("Value error, ")
    name, _, rest = message.partition(": ")
    return f"ANNOGRAPH_{name.upper()}: {rest}"


@lru_cache
def get_settings() -> Settings:
    return load_settings()
