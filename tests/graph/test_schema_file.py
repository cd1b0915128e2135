"""schema.graphql is what the service serves; regenerate it with `make schema`."""

from __future__ import annotations

from graph.schema import SCHEMA_FILE, schema, schema_sdl


def test_schema_file_is_current():
    assert SCHEMA_FILE.exists(), "schema.graphql is missing: run `make schema`"
    assert SCHEMA_FILE.read_text() == schema_sdl(), "schema.graphql is stale: run `make schema`"


def test_every_root_field_and_type_has_a_description():
    missing = []
    for root in (schema.query, schema.mutation, schema.subscription):
        definition = schema.get_type_by_name(root.__name__ if hasattr(root, "__name__") else str(root))
        for field in definition.fields:
            if not field.description:
                missing.append(f"{definition.name}.{field.name}")
    graphql_schema = schema._schema
    for name, gtype in graphql_schema.type_map.items():
        if name.startswith("__") or name in {
            "String",
            "Int",
            "Float",
            "Boolean",
            "ID",
            "Query",
            "Mutation",
            "Subscription",
            "JSON",
            "DateTime",
            "PageInfo",
            "Node",
        }:
            continue
        if not gtype.description:
            missing.append(name)
    assert missing == []
