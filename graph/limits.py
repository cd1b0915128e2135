"""Limits against abuse, each a setting: body size, depth, aliases, tokens and estimated cost.

A refused request says which limit it hit: `extensions.code` LIMIT_EXCEEDED and `limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql.error import GraphQLError
from graphql.language import DocumentNode, IntValueNode, SelectionSetNode, VariableNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

from domain.errors import LimitExceeded
from graph.auth import error_response
from persistence.settings import Settings

_VALIDATED: LRUCache = LRUCache(maxsize=512)


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


# Fields that cost more than one unit each (they read arrays from files).
FIELD_WEIGHTS = {"trajectory": 50}


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
        limit = (
            settings.max_upload_bytes if content_type.startswith(b"multipart/") else settings.max_body_bytes
        )
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


def _page(field: FieldNode, variables: dict, default: int) -> int | None:
    """The page size a list field asks for: its `first` argument, or the default for connections."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
                return given if isinstance(given, int) else default
    names = {
        s.name.value
        for s in (field.selection_set.selections if field.selection_set else ())
        if isinstance(s, FieldNode)
    }
    return default if names & {"edges", "nodes"} else None


def estimate_cost(
    document: DocumentNode, operation_name: str | None, variables: dict, default_page: int
) -> int:
    """Fields that would be resolved, each list multiplying what is below it by its page size."""
    fragments = {
        d.name.value: d
        for d in document.definitions
        if hasattr(d, "name") and d.kind == "fragment_definition"
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]

    def walk(selection_set: SelectionSetNode, multiplier: int, seen: frozenset) -> Iterator[int]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield multiplier * FIELD_WEIGHTS.get(selection.name.value, 1)
                if selection.selection_set:
                    page = _page(selection, variables, default_page)
                    yield from walk(selection.selection_set, multiplier * max(page or 1, 1), seen)
            elif isinstance(selection, InlineFragmentNode):
                yield from walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:  # a cycle is a validation error anyway
                    yield from walk(fragments[name].selection_set, multiplier, seen | {name})

    return sum(sum(walk(op.selection_set, 1, frozenset())) for op in operations[:1])


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
        rules = [
            *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        ]
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
            cost = estimate_cost(
                context.graphql_document,
                context.operation_name,
                context.variables or {},
                settings.page_size_default,
            )
            if cost > settings.max_cost:
                error = LimitExceeded(
                    f"the query's estimated cost is {cost}, more than {settings.max_cost}: "
                    "ask for smaller pages or fewer nested lists",
                    limit="cost",
                )
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
