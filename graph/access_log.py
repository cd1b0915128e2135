"""uvicorn's access log without secrets: a one-time login code (`/login?code=ag_...`) or a token put in
a URL is written as `ag_[redacted]`, so a log reader cannot sign in with it."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

# Every annograph secret (API token, login code, session) starts with `ag_` (domain.accounts.tokens).
_SECRET = re.compile(r"ag_[A-Za-z0-9_\-%]+")
REDACTED = "ag_[redacted]"
ACCESS_LOGGER = "uvicorn.access"


def redact(text: str) -> str:
    """`text` with every annograph secret replaced by `ag_[redacted]`."""
    return _SECRET.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message arguments (uvicorn's access line: client, method, path with its query,
    HTTP version, status) with their secrets redacted; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with RedactSecrets on its access logger (a logger
    filter: every handler of that logger, also one added later, sees the redacted line)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["redact_secrets"]
    return config
