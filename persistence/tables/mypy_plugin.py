"""A mypy plugin (loaded by `[tool.mypy] plugins` in pyproject.toml; never imported at run time) that
gives SQLModel table columns their run-time type when read on the class.

SQLModel declares a column as a plain annotation (`frame: int`), which is right on a row
(`row.frame` is an int) but wrong on the class: `ObjectAnnotationRow.frame` is a SQLAlchemy
`InstrumentedAttribute`, so `Row.frame >= 3`, `Row.id.in_(ids)` and `select(Row.frame)` build SQL.
SQLModel's own answer is to wrap every such use in `col(...)`; this plugin types the class attribute
as `InstrumentedAttribute[T]` instead, so repository queries read as SQLAlchemy documents them and
are checked all the same (a misspelt column or a wrong operand type is still an error).

Only the annotated fields of classes declared with `table=True` are changed; instances, methods,
`__tablename__` and other class variables keep their declared types. Such classes also get the
`__table__` (a SQLAlchemy Table) that SQLModel sets on them at run time.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import NameExpr, TypeInfo, Var
from mypy.plugin import AttributeContext, ClassDefContext, Plugin
from mypy.plugins.common import add_attribute_to_class
from mypy.types import Instance, Type

_SQLMODEL = "sqlmodel.main.SQLModel"
_ATTRIBUTE = "sqlalchemy.orm.attributes.InstrumentedAttribute"
_TABLE = "sqlalchemy.sql.schema.Table"


# Set on a class's TypeInfo while its definition is analysed: mypy's cache keeps `metadata`, but not
# the class statement's keywords, so `table=True` is read once and remembered here.
_METADATA = "annograph.sqlmodel"


def _remember_table(ctx: ClassDefContext) -> None:
    table = ctx.cls.keywords.get("table")
    if not (isinstance(table, NameExpr) and table.fullname == "builtins.True"):
        return
    ctx.cls.info.metadata[_METADATA] = {"table": True}
    # SQLModel sets `__table__` (the SQLAlchemy Table) on every table class but does not declare it.
    table_type = ctx.api.named_type_or_none(_TABLE)
    if table_type is None:
        if not ctx.api.final_iteration:
            ctx.api.defer()
        return
    add_attribute_to_class(ctx.api, ctx.cls, "__table__", table_type, is_classvar=True)


def _is_table(info: TypeInfo) -> bool:
    """A SQLModel class declared with `table=True` (only those have mapped columns)."""
    return any(base.metadata.get(_METADATA, {}).get("table") for base in info.mro)


class SQLModelColumnsPlugin(Plugin):
    def get_base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return _remember_table if fullname == _SQLMODEL else None

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        class_name, _, attribute = fullname.rpartition(".")
        if attribute.startswith("_") or attribute == "model_config":
            return None
        symbol = self.lookup_fully_qualified(class_name)
        if symbol is None or not isinstance(symbol.node, TypeInfo) or not _is_table(symbol.node):
            return None
        field = symbol.node.names.get(attribute)
        if field is None or not isinstance(field.node, Var) or field.node.is_classvar:
            return None
        return self._column

    def _column(self, ctx: AttributeContext) -> Type:
        attribute = self.lookup_fully_qualified(_ATTRIBUTE)
        if ctx.is_lvalue or attribute is None or not isinstance(attribute.node, TypeInfo):
            return ctx.default_attr_type
        return Instance(attribute.node, [ctx.default_attr_type])


def plugin(version: str) -> type[Plugin]:
    return SQLModelColumnsPlugin
