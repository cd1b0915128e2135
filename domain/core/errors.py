"""Errors a client must handle; the graph maps `code` to `extensions.code`.

`field` names the value at fault in domain terms, relative to the request the service takes: a dotted
snake_case path (`expected_version`, `episode_ids`, `criteria.min_ap50`, `boxes.3.label`, a number being
a list index; "" the request as a whole), never a GraphQL argument path. A message that names its field
starts with that path (`"frame_stride must be at least 1"`, `"criteria.min_ap50: ..."`). The graph shows
both as the argument the client sent (`input.frameStride`, graph/field_paths.py).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DomainError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


# The field path naming the request as a whole (a batch refused whole): `input` when the graph field
# takes one.
REQUEST = ""


def inside(path: str, *parts: str | int) -> str:
    """The path of `parts` within `path` (`inside("boxes", 3, "label")` is `boxes.3.label`); `path` may
    be REQUEST."""
    return ".".join(str(part) for part in (path, *parts) if part != "")


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


class Invalid(ValueError):
    """A request model's validator refusing a value: `message` for the client, and `field` (a path
    relative to the model) when the value at fault is not the validator's own, as when a model
    validator checks two fields together ("give exactly one of ...")."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def bad_input(exc: ValidationError, field: str = "", suffix: str = "") -> BadUserInput:
    """The first error of a validation as BAD_USER_INPUT naming the value: the path of the object
    validated (`field`, "" for a request validated whole) joined with the error's location
    (`criteria.min_ap50`, `boxes.3.label`); the message starts with that path, says the number given
    to a bound it broke, and ends with `suffix`."""
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    where = [*error["loc"]]
    if isinstance(cause, Invalid) and cause.field:
        where.append(cause.field)
    path = ".".join(str(part) for part in (field, *where) if part != "")
    reason = str(cause) if isinstance(cause, ValueError) else error["msg"]
    given = error.get("input")
    if not isinstance(cause, ValueError) and isinstance(given, int | float) and not isinstance(given, bool):
        reason = f"{reason}, got {given!r}"
    return BadUserInput(f"{path}: {reason}{suffix}" if path else f"{reason}{suffix}", field=path)


def validated(model: type[M], given: object, field: str, suffix: str = "") -> M:
    """`model` validated from an object a client sent under `field` (defaults filled in; `given` is any
    JSON value, None for none); the first wrong value is BAD_USER_INPUT naming it (`field.<name>`), with
    `suffix` after the message."""
    if given is not None and not isinstance(given, dict):
        raise BadUserInput(f"{field}: expected an object", field=field)
    try:
        return model.model_validate(given or {})
    except ValidationError as exc:
        raise bad_input(exc, field, suffix) from None


def text_problem(value: str, max_length: int) -> str | None:
    """What is wrong with `value` (stripped) as text a person typed, or None."""
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"may have at most {max_length} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    return None


def check_text(value: str, field: str, *, max_length: int) -> str:
    """Text a person typed: stripped, not empty, no control characters (PostgreSQL refuses NUL)."""
    value = value.strip()
    problem = text_problem(value, max_length)
    if problem is not None:
        raise BadUserInput(f"{field} {problem}", field=field)
    return value


def text(max_length: int) -> AfterValidator:
    """check_text for a request model's field: `name: Annotated[str, text(200)]` holds the stripped
    text; a problem is the field's validation error."""

    def check(value: str) -> str:
        value = value.strip()
        problem = text_problem(value, max_length)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)
