"""What the schemathesis run draws beyond schemathesis's own values, and the checks it makes of every
answer. Kept apart from the test so the test reads as the run and its callers.

- Ids: real global ids of every Node type (ids 1-3, which the prepared database holds for datasets,
  episodes, users and jobs) mixed with malformed and out-of-range ones, so `node`, `nodes`, cursors
  and mutations are reached with ids that decode (schemathesis alone draws random text, which never
  names an object).
- Lists: sometimes repeated to `LONG_LIST` items (`nodes(ids:)` with 2,000 copies of one id was an
  attack: ids multiply the cost like a page size).
- Strings: mostly printable text, so requests reach the code behind the input checks.
- Variables: the same query with its argument literals moved into JSON `variables`, so values reach
  the server through the JSON decoder as clients send them; sometimes with a lone UTF-16 surrogate
  (not text) in every string.
"""

from __future__ import annotations

import json

from graphql import (
    ArgumentNode,
    FieldNode,
    GraphQLSchema,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    ObjectValueNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.language import ListTypeNode, NonNullTypeNode, TypeNode
from graphql.type import GraphQLList, GraphQLNonNull
from graphql.utilities import value_from_ast_untyped
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from strawberry.relay import to_base64

from graph.query_shape import FIELD_WEIGHTS, measure

LONG_LIST = 2_000

MALFORMED_IDS = [
    to_base64("Episode", "abc"),
    to_base64("Episode", "100000000000000000000"),  # beyond 64 bits
    to_base64("Episode", "3000000000"),  # beyond PostgreSQL's int4
    to_base64("Episode", "-1"),
    to_base64("NoSuchType", "1"),
    "not base64 at all!",
    "",
]


def node_type_names(schema: GraphQLSchema) -> list[str]:
    node = schema.get_type("Node")
    return sorted(t.name for t in schema.get_possible_types(node)) if node else []  # type: ignore[arg-type]


def ids(schema: GraphQLSchema) -> st.SearchStrategy:
    real = [to_base64(name, i) for name in node_type_names(schema) for i in (1, 2, 3)]
    return st.one_of(st.sampled_from(real), st.sampled_from(real), st.sampled_from(MALFORMED_IDS)).map(
        nodes.String
    )


def strings() -> st.SearchStrategy:
    """Mostly printable text (so requests get past input checks to the code behind them), sometimes
    anything."""
    printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20)
    return st.one_of(printable, printable, st.text(max_size=20)).map(nodes.String)


def with_surrogates(value: object) -> object:
    """`value` with a lone UTF-16 surrogate appended to every string in it (a GraphQL document cannot
    hold one, JSON variables can)."""
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, list):
        return [with_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: with_surrogates(v) for k, v in value.items()}
    return value


def lengthen_lists(body: str, length: int) -> str:
    """The query with every non-empty list literal of plain values repeated to `length` items."""
    if length <= 1:
        return body

    class Lengthen(Visitor):
        def leave_list_value(self, node: ListValueNode, *_):
            # Only lists of plain values (ids, names): lengthening lists of lists would multiply.
            if not node.values or any(isinstance(v, (ListValueNode, ObjectValueNode)) for v in node.values):
                return None
            values = list(node.values) * (length // len(node.values) + 1)
            return ListValueNode(values=tuple(values[:length]))

    return print_ast(visit(parse(body), Lengthen()))


def _type_node(type_) -> TypeNode:
    if isinstance(type_, GraphQLNonNull):
        return NonNullTypeNode(type=_type_node(type_.of_type))
    if isinstance(type_, GraphQLList):
        return ListTypeNode(type=_type_node(type_.of_type))
    return NamedTypeNode(name=NameNode(value=type_.name))


def as_variables(schema: GraphQLSchema, body: str) -> tuple[str, dict]:
    """The same operation with each argument's literal moved into a JSON variable of the argument's
    type (`value_from_ast_untyped`: enums become their names, as a JSON client sends them)."""
    document = parse(body)
    type_info = TypeInfo(schema)
    definitions: list[VariableDefinitionNode] = []
    values: dict = {}

    class Extract(Visitor):
        def enter_argument(self, node: ArgumentNode, *_):
            arg_type = type_info.get_input_type()
            if arg_type is None or isinstance(node.value, VariableNode):
                return None
            name = f"v{len(definitions)}"
            definitions.append(
                VariableDefinitionNode(
                    variable=VariableNode(name=NameNode(value=name)), type=_type_node(arg_type)
                )
            )
            values[name] = value_from_ast_untyped(node.value)
            return ArgumentNode(name=node.name, value=VariableNode(name=NameNode(value=name)))

    moved = visit(document, TypeInfoVisitor(type_info, Extract()))
    operations = [d for d in moved.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return body, {}
    operation = operations[0]
    with_variables = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=tuple(definitions),
        directives=operation.directives,
        selection_set=operation.selection_set,
    )
    return print_ast(with_variables), values


def json_safe(values: dict) -> bool:
    try:
        json.dumps(values)
        return True
    except (TypeError, ValueError):
        return False


def _object_keys(body: str) -> set[str]:
    """Response keys (alias or name) of the fields that select fields of their own: only these are
    objects in an answer; any other value, a JSON scalar's included, is one field."""
    keys: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_):
            if node.selection_set is not None:
                keys.add((node.alias or node.name).value)

    visit(parse(body), Collect())
    return keys


def resolved_weight(value: object, body: str) -> int:
    """Fields an answer resolved, weighted as the cost estimate weighs them (graph/query_shape.py), and
    one unit for every object (an object whose fragment selected nothing was still loaded)."""
    objects = _object_keys(body)
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += 1
            for key, inner in item.items():
                if not key.startswith("__"):
                    total += FIELD_WEIGHTS.get(key, 1)
                if key in objects:
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return total


def estimated_cost(body: str, variables: dict, default_page: int) -> int:
    return measure(parse(body), None, variables, default_page).cost
