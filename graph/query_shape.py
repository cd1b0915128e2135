"""What a query would cost before anything runs: its estimated cost, depth and aliases, measured in
time linear in the document.

Each fragment is measured once and its measure reused at every spread (cost grows with the page sizes
above a spread by multiplication, not by walking the fragment again), so a document of fragments that
each spread the next twice, 40 levels deep (2^40 paths), is measured as fast as it was parsed and then
refused. Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every path; their definitions are
kept here (depth: fields with a selection, introspection fields not counted; aliases: every aliased
field of every operation, fragments counted at each spread).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

# Fields that cost more than one unit each (they read arrays from files).
FIELD_WEIGHTS = {"trajectory": 50}


@dataclass(frozen=True)
class Shape:
    cost: int  # fields that would be resolved, lists multiplying what is below them by their size
    depth: int  # as Strawberry's QueryDepthLimiter counts it
    aliases: int  # as Strawberry's MaxAliasesLimiter counts it


def _int_argument(field: FieldNode, name: str, variables: dict) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
                return given if isinstance(given, int) and not isinstance(given, bool) else None
    return None


def _list_length(field: FieldNode, name: str, variables: dict) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, ListValueNode):
                return len(value.values)
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
                return len(given) if isinstance(given, list) else 1
    return None


def fan_out(field: FieldNode, variables: dict, default_page: int) -> int:
    """How many times what is below `field` is resolved: its `first` (a page), the length of its `ids`
    (`nodes(ids:)`, `episodes(ids:)`: every id is an object), or the default page for a connection."""
    ids = _list_length(field, "ids", variables)
    if ids is not None:
        return max(ids, 1)
    first = _int_argument(field, "first", variables)
    if first is None and any(
        isinstance(s, FieldNode) and s.name.value in ("edges", "nodes")
        for s in (field.selection_set.selections if field.selection_set else ())
    ):
        first = default_page
    return max(first or 1, 1)


def measure(document: DocumentNode, operation_name: str | None, variables: dict, default_page: int) -> Shape:
    """The cost of the operation that would run, the deepest operation's depth, and the aliases of all."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, Shape] = {}
    active: set[str] = set()

    def fragment(name: str) -> Shape:
        if name in memo:
            return memo[name]
        if name not in fragments or name in active:  # unknown or a cycle: validation reports both
            return Shape(0, 0, 0)
        active.add(name)
        memo[name] = selections(fragments[name].selection_set)
        active.discard(name)
        return memo[name]

    def selections(selection_set: SelectionSetNode) -> Shape:
        cost = depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                cost += FIELD_WEIGHTS.get(name, 1)
                aliases += 1 if selection.alias else 0
                if selection.selection_set:
                    inner = selections(selection.selection_set)
                    cost += fan_out(selection, variables, default_page) * inner.cost
                    aliases += inner.aliases
                    if not name.startswith("__"):
                        depth = max(depth, 1 + inner.depth)
            elif isinstance(selection, InlineFragmentNode):
                inner = selections(selection.selection_set)
                cost, aliases, depth = cost + inner.cost, aliases + inner.aliases, max(depth, inner.depth)
            elif isinstance(selection, FragmentSpreadNode):
                inner = fragment(selection.name.value)
                cost, aliases, depth = cost + inner.cost, aliases + inner.aliases, max(depth, inner.depth)
        return Shape(cost, depth, aliases)

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    shapes = [selections(op.selection_set) for op in operations]
    chosen = [
        s
        for op, s in zip(operations, shapes, strict=True)
        if not operation_name or (op.name and op.name.value == operation_name)
    ]
    return Shape(
        cost=chosen[0].cost if chosen else 0,
        depth=max((s.depth for s in shapes), default=0),
        aliases=sum(s.aliases for s in shapes),
    )
