"""Limits against abuse, each a setting: body size, depth, aliases, tokens and estimated cost.

A refused request says which limit it hit: `extensions.code` LIMIT_EXCEEDED and `limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from cachetools import LRUCache
from graphql import (
    parse,
    validate,
)
from graphql.error import GraphQLError
from graphql.language import DocumentNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from domain.core.errors import LimitExceeded
from graph.auth import error_response
from graph.query_shape import Shape, measure
from persistence.settings import Settings

_VALIDATED: LRUCache = LRUCache(maxsize=512)


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies (and GET query strings) over the limit, before they are read whole."""

    def __init__(self, app: ASGIApp, settings_of) -> None:
        self.app = app
        self.settings_of = settings_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        settings: Settings = self.settings_of(scope)
        if not settings.limits:
            return await self.app(scope, receive, send)
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        # A multipart body may carry an annotation zip with its frames; each mutation bounds its own file
        # (uploadVideo by max_upload_bytes, importAnnotations' annotation files by max_unpacked_bytes).
        multipart = max(settings.max_upload_bytes, settings.max_archive_bytes)
        limit = multipart if content_type.startswith(b"multipart/") else settings.max_body_bytes
        too_large = error_response(
            413, "LIMIT_EXCEEDED", f"the request is larger than {limit} bytes", limit="bodySize"
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if (declared and declared.isdigit() and int(declared) > limit) or len(
            scope.get("query_string", b"")
        ) > limit:
            return await too_large(scope, receive, send)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await too_large(scope, receive, send)


def _over_limit(shape: Shape, settings: Settings) -> LimitExceeded | None:
    if shape.depth > settings.max_depth:
        return LimitExceeded(
            f"the query is {shape.depth} levels deep, more than {settings.max_depth}", limit="depth"
        )
    if shape.aliases > settings.max_aliases:
        return LimitExceeded(
            f"the query has {shape.aliases} aliases, more than {settings.max_aliases}", limit="aliases"
        )
    if shape.cost > settings.max_cost:
        return LimitExceeded(
            f"the query's estimated cost is {shape.cost}, more than {settings.max_cost}: "
            "ask for smaller pages, fewer ids or fewer nested lists",
            limit="cost",
        )
    return None


class Limits(SchemaExtension):
    """Applies the request's settings: depth, aliases, tokens, cost, and introspection on or off.

    Strawberry's own limiters do the depth, alias and token checks; the settings are read per
    request (from the runtime in the context), so one schema serves every configuration.
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        settings: Settings = context.context.runtime.settings
        if not settings.limits:
            yield
            return
        # Depth and aliases are measured with the cost in on_validate (graph/query_shape.py), in time
        # linear in the document: Strawberry's limiters walk every fragment path.
        rules = []
        if not settings.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        context.validation_rules = (*context.validation_rules, *rules)
        context.parse_options["max_tokens"] = settings.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if isinstance(context.query, str):
            try:
                context.graphql_document = _parse(context.query, context.parse_options.get("max_tokens"))
            except GraphQLError:
                pass  # Strawberry parses it again and reports the error the usual way
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        settings: Settings = context.context.runtime.settings
        if settings.limits and context.graphql_document is not None and context.pre_execution_errors is None:
            error = _over_limit(
                measure(
                    context.graphql_document,
                    context.operation_name,
                    context.variables or {},
                    settings.page_size_default,
                ),
                settings,
            )
            if error is not None:
                # Set before validation runs, so the request stops here with this error.
                context.pre_execution_errors = [GraphQLError(error.message, original_error=error)]
        if (
            isinstance(context.query, str)
            and context.graphql_document is not None
            and context.pre_execution_errors is None
        ):
            # Validation costs more than executing a small query; a client sends the same few
            # documents again and again, so their results are kept (per document and limits).
            key = (
                context.query,
                settings.limits,
                settings.max_depth,
                settings.max_aliases,
                settings.introspection,
            )
            errors = _VALIDATED.get(key)
            if errors is None:
                errors = validate(context.schema._schema, context.graphql_document, context.validation_rules)
                _VALIDATED[key] = errors
            context.pre_execution_errors = list(errors)
        yield
