"""Errors as DESIGN.md has them: expected ones carry `extensions.code` (and the field at fault),
anything else is masked to INTERNAL_SERVER_ERROR and logged with the request id."""

from __future__ import annotations

import logging
import re

from graphql import GraphQLArgument
from graphql.error import GraphQLError
from graphql.language import (
    FieldNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import MaskErrors
from strawberry.relay.types import GlobalIDValueError

from domain.core.errors import BadUserInput, DomainError
from graph.field_paths import client_message, client_path, field_definition

log = logging.getLogger("annograph.errors")

# graphql-core's messages for values a client sent that do not fit the schema.
VARIABLE_VALUE = re.compile(
    r"^Variable '\$(\w+)' (?:got|has) invalid value(?:[^;:]*? at '?\.?([\w.\[\]]+)'?)?"
)
LITERAL_VALUE = re.compile(r"does not exist in '\w+' enum|cannot represent")

# The parser's token limit reports a plain syntax error; this says which limit was hit.
LIMIT_MESSAGES = [
    (re.compile(r"Document contains more than \d+ tokens"), "tokens"),
]


# graphql-core's validation messages end with suggestions of names from the schema.
SUGGESTION = re.compile(r" Did you mean [^?]*\?$")


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Internal server error")

    def _introspection(self) -> bool:
        runtime = getattr(self.execution_context.context, "runtime", None)
        return runtime is None or runtime.settings.introspection

    def _request_id(self) -> str | None:
        context = self.execution_context.context
        return getattr(context, "request_id", None)

    def _convert(self, error: GraphQLError) -> GraphQLError:
        if error.original_error is None and not self._introspection():
            # "Did you mean 'tokens' / 'ADMIN'?" would hand out the schema that introspection keeps back.
            error.message = SUGGESTION.sub("", error.message)
        variable = VARIABLE_VALUE.match(error.message)
        if variable is not None or (error.original_error is None and LITERAL_VALUE.search(error.message)):
            # A value the client sent does not fit its type (an unknown enum, a string for an Int).
            extensions: dict[str, object] = {"code": "BAD_USER_INPUT"}
            if variable is not None:
                name, path = variable.group(1), variable.group(2)
                if not path:
                    extensions["field"] = name
                else:
                    extensions["field"] = path if path.split(".")[0] == name else f"{name}.{path}"
            return GraphQLError(
                error.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=extensions,
            )
        original = error.original_error
        if isinstance(original, GlobalIDValueError):
            original = self._bad_global_id(error, original)
        if isinstance(original, DomainError):
            extensions = {"code": original.code}
            message = original.message
            if original.field is not None:
                # The domain names its field in its own terms; the client sees the argument it sent.
                shown = client_path(original.field, self._arguments(error))
                message = client_message(message, original.field, shown)
                if shown:
                    extensions["field"] = shown
            extensions.update(original.details)
            return GraphQLError(
                message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=extensions,
            )
        if original is None:
            # Parse and validation errors: the query itself is wrong, or over a limit.
            extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
            for pattern, limit in LIMIT_MESSAGES:
                if pattern.search(error.message):
                    extensions = {"code": "LIMIT_EXCEEDED", "limit": limit}
            error.extensions = {**(error.extensions or {}), **extensions}
            return error
        request_id = self._request_id()
        log.error("request %s failed", request_id, exc_info=original)
        masked = self.anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return masked

    def _arguments(self, error: GraphQLError) -> dict[str, GraphQLArgument | None]:
        """The arguments of the field that failed, by GraphQL name: all its definitions when the schema
        has the field, else the names the client sent."""
        node = error.nodes[0] if error.nodes else None
        if not isinstance(node, FieldNode):
            return {}
        context = self.execution_context
        document = context.graphql_document
        definition = field_definition(context.schema._schema, document, node) if document else None
        if definition is not None:
            return dict(definition.args)
        return {argument.name.value: None for argument in node.arguments or ()}

    def _bad_global_id(self, error: GraphQLError, original: GlobalIDValueError) -> BadUserInput:
        """Strawberry refuses text that is no global id while converting a field's arguments, without
        saying which argument: find it by the text it reports, so the error names it like any other."""
        found = re.search(r'GlobalID: "(.*)"\.$', str(original), re.DOTALL)
        field = None
        if found is not None and error.nodes and isinstance(error.nodes[0], FieldNode):
            variables = self.execution_context.variables or {}
            for argument in error.nodes[0].arguments or ():
                field = _where(argument.value, found.group(1), variables, argument.name.value)
                if field is not None:
                    break
        if field is None or found is None:
            return BadUserInput(str(original))
        shown = found.group(1) if len(found.group(1)) <= 60 else found.group(1)[:57] + "..."
        return BadUserInput(f"{field} is not a global id: {shown!r}", field=field)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._convert(e) for e in errors]


def _where(node: ValueNode | object, value: str, variables: dict, path: str) -> str | None:
    """The path (`input.episodeIds[1]`) of the first string equal to `value` in an argument, written
    inline (`node` is a GraphQL value node) or sent as variables (plain JSON values)."""
    if isinstance(node, VariableNode):
        node = variables.get(node.name.value)
    if isinstance(node, StringValueNode):
        node = node.value
    if isinstance(node, str):
        return path if node == value else None
    if isinstance(node, ObjectValueNode):
        items = [(f"{path}.{f.name.value}", f.value) for f in node.fields]
    elif isinstance(node, dict):
        items = [(f"{path}.{key}", item) for key, item in node.items()]
    elif isinstance(node, ListValueNode | list):
        values = node.values if isinstance(node, ListValueNode) else node
        items = [(f"{path}[{i}]", item) for i, item in enumerate(values)]
    else:
        return None
    return next((found for inner, item in items if (found := _where(item, value, variables, inner))), None)
