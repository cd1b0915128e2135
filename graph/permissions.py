"""Strawberry permission classes: every mutation and every sensitive field names one.

They raise the domain's Unauthenticated / Forbidden, which the error extension turns into
`extensions.code` UNAUTHENTICATED or FORBIDDEN. A field of a type (or a root query field) guarded by
more than IsViewer is nullable: the caller who may not see it gets null there with the error at its
path, and the rest of the answer stays readable (tests/graph/test_field_permissions.py walks the schema).
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from domain.accounts.tokens import check_same_user_or_admin
from domain.accounts.users import Role
from domain.core.errors import Forbidden


class _HasRole(BasePermission):
    needed: ClassVar[Role]

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        viewer = info.context.require_viewer()
        if not viewer.can(self.needed):
            raise Forbidden(f"needs the {self.needed.value} role; {viewer.name} is {viewer.role.value}")
        return True


class IsViewer(_HasRole):
    """Any signed-in user."""

    needed = Role.VIEWER


class IsAnnotator(_HasRole):
    needed = Role.ANNOTATOR


class IsReviewer(_HasRole):
    needed = Role.REVIEWER


class IsAdmin(_HasRole):
    needed = Role.ADMIN


class IsSelfOrAdmin(BasePermission):
    """On a field of User: the user themself, or an admin."""

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        viewer = info.context.require_viewer()
        check_same_user_or_admin(viewer, source.id)
        return True
