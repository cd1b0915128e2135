"""Every mutation, subscription and query root field names a permission class: later issues
cannot add one and forget it. `viewer` alone answers anonymous requests (with null)."""

from __future__ import annotations

from strawberry.permission import PermissionExtension

from graph.schema import schema

OPEN_FIELDS = {("Query", "viewer")}


def _permissions(field) -> list:
    classes = list(getattr(field, "permission_classes", None) or [])
    for extension in field.extensions or ():
        if isinstance(extension, PermissionExtension):
            classes.extend(extension.permissions)
    return classes


def test_every_root_field_has_a_permission_class():
    missing = []
    checked = 0
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        for field in definition.fields:
            checked += 1
            if (root, field.graphql_name or field.python_name) in OPEN_FIELDS:
                continue
            if not _permissions(field):
                missing.append(f"{root}.{field.python_name}")
    assert checked >= 12
    assert missing == [], f"root fields without a permission class: {missing}"


def test_sensitive_fields_are_admin_only():
    from graph.permissions import IsAdmin

    for type_name, field_name in (("Dataset", "path"), ("Job", "parameters")):
        field = next(f for f in schema.get_type_by_name(type_name).fields if f.python_name == field_name)
        assert any(isinstance(p, IsAdmin) or p is IsAdmin for p in _permissions(field)), (
            type_name,
            field_name,
        )
