"""Shared metadata: named constraints, so Alembic batch mode on SQLite can find and alter them."""

from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# In every table with an integer id: on SQLite, AUTOINCREMENT keeps the highest id ever given, so a
# deleted row's id is never given to a new one (a client's cache or an event in flight would show the
# wrong object). PostgreSQL's SERIAL sequences never give a number twice on their own.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}

# ROW_IDS: a table's `id: int = Field(default=None, primary_key=True)` is None on a new row until the
# session first flushes it, then the database's id. It is typed `int` because every row a repository
# reads or returns has been flushed; code that builds a row reads its id only after `flush()`.

__all__ = ["NEVER_REUSE_IDS", "SQLModel"]
