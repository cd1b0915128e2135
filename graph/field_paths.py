"""Where the field a domain error names sits in the request the client sent.

The domain names a field in its own terms, relative to the request a service takes: a dotted
snake_case path (`expected_version`, `episode_ids`, `criteria.min_ap50`, `boxes.3.label`; a number is a
list index; "" is the request as a whole). It knows nothing of GraphQL arguments. `client_path` turns
such a path into the path of the argument the client sent, as `extensions.field` shows it:

- each segment is camelCased as the schema names input fields (`expected_version` -> `expectedVersion`),
  and a list index is written `[3]`;
- if the first segment is one of the field's arguments, the path starts there (`episode_ids` ->
  `episodeIds` for `analyse(episodeIds: ...)`); otherwise, if the field takes an `input` argument, the
  path is inside it (`expected_version` -> `input.expectedVersion`, `3.label` -> `input[3].label`, ""
  -> `input`);
- once the path leaves what the schema describes (the keys of a JSON value, a camera's name in edits),
  the rest stays as written (`parameters.velocity_threshold` -> `input.parameters.velocity_threshold`);
  a name an input type lacks is camelCased all the same (a box's `x`, sent inside `box`: `input.x`).

A path already in the client's terms (`input.expectedVersion`, `episodeIds[1]`) comes out unchanged, so
the graph layer may name arguments itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from strawberry.utils.str_converters import to_camel_case

# One segment of a path: `name` (after a dot but the first) or `[3]`.
SEGMENT = re.compile(r"(?:^|\.)([^.\[\]]+)|\[(\d+)\]")


def segments(path: str) -> list[tuple[str | int, int]] | None:
    """The segments of `path` with where each starts (its dot or bracket included); list indexes as
    ints (`a.3` and `a[3]` alike); None for text that is no path."""
    found: list[tuple[str | int, int]] = []
    at = 0
    for match in SEGMENT.finditer(path):
        if match.start() != at:
            return None
        name, index = match.group(1), match.group(2)
        text = index if name is None else name
        found.append((int(text) if text.isdigit() else text, at))
        at = match.end()
    return found if at == len(path) else None


def client_path(path: str, arguments: Mapping[str, GraphQLArgument | None]) -> str:
    """`path` (domain terms) as the path of the argument the client sent, given the field's arguments
    by GraphQL name (their definitions, or None where only the name is known)."""
    parts = segments(path)
    if parts is None:
        return path
    if not parts:
        return "input" if "input" in arguments else ""
    first = parts[0][0]
    if isinstance(first, str) and to_camel_case(first) in arguments:
        shown = to_camel_case(first)
        argument = arguments[shown]
        rest = parts[1:]
    elif "input" in arguments:
        shown, argument, rest = "input", arguments["input"], parts
    else:
        shown, argument, rest = "", None, parts
    kind: GraphQLType | None = argument.type if argument is not None else None
    known = argument is not None  # the schema describes the path so far
    for part, at in rest:
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
        if isinstance(part, int) and (not known or isinstance(kind, GraphQLList)):
            shown += f"[{part}]"
            kind = kind.of_type if isinstance(kind, GraphQLList) else None
        elif isinstance(part, str) and not known:
            shown = f"{shown}.{to_camel_case(part)}" if shown else to_camel_case(part)
        elif isinstance(part, str) and isinstance(kind, GraphQLInputObjectType):
            name = _field(kind, part)
            if name:
                shown = f"{shown}.{name}"
                kind = kind.fields[name].type
            else:
                # A value the input type lacks (the client gives it grouped otherwise, as a box's x
                # inside `box`): camelCased, and so is the rest.
                shown = f"{shown}.{to_camel_case(part)}"
                kind, known = None, False
        else:
            # Past what the schema describes (a JSON value's keys, a list item named by its key): as
            # written.
            rest_path = path[at:]
            return shown + (rest_path if rest_path[:1] in (".", "[") else f".{rest_path}")
    return shown


def _field(kind: GraphQLInputObjectType, part: str) -> str:
    """The name of `kind`'s field that `part` names (camelCased or as written), or ""."""
    name = to_camel_case(part)
    return name if name in kind.fields else part if part in kind.fields else ""


def client_message(message: str, path: str, shown: str) -> str:
    """`message` with a leading domain `path` (followed by ':' or a space) written as the client's."""
    after = message[len(path) : len(path) + 1]
    if path and shown and message.startswith(path) and after in (":", " "):
        return shown + message[len(path) :]
    return message


def field_definition(schema: GraphQLSchema, document: DocumentNode, node: FieldNode) -> GraphQLField | None:
    """The schema's definition of the field `node` selects in `document` (fragments followed)."""
    type_info = TypeInfo(schema)
    found: list[GraphQLField | None] = []

    class Find(Visitor):
        def enter_field(self, field: FieldNode, *_: object) -> object:
            if field is node:
                found.append(type_info.get_field_def())
                return BREAK
            return None

    visit(document, TypeInfoVisitor(type_info, Find()))
    return found[0] if found else None
