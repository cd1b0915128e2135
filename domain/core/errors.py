"""Errors a client must handle; the graph maps `code` to `extensions.code`."""

from __future__ import annotations


class DomainError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(DomainError):
    code = "NOT_FOUND"


class BadUserInput(DomainError):
    code = "BAD_USER_INPUT"


class Conflict(DomainError):
    code = "CONFLICT"


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"


class Unavailable(DomainError):
    """A service the request needs (the event broadcaster) is down; retry later."""

    code = "UNAVAILABLE"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


def validated(model, given: object, field: str, suffix: str = ""):
    """`model` validated from an object a client sent under `field` (defaults filled in; `given` is any
    JSON value, None for none); the first wrong value is BAD_USER_INPUT naming it (`field.<name>`), with
    `suffix` after the message."""
    from pydantic import ValidationError

    if given is not None and not isinstance(given, dict):
        raise BadUserInput(f"{field}: expected an object", field=field)
    try:
        return model.model_validate(given or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in (field, *error["loc"]))
        raise BadUserInput(f"{path}: {error['msg']}{suffix}", field=path) from None


def check_text(value: str, field: str, *, max_length: int) -> str:
    """Text a person typed: stripped, not empty, no control characters (PostgreSQL refuses NUL)."""
    value = value.strip()
    if not value:
        raise BadUserInput(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise BadUserInput(f"{field} may have at most {max_length} characters", field=field)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadUserInput(f"{field} must not contain control characters", field=field)
    return value
