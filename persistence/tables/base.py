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

__all__ = ["NEVER_REUSE_IDS", "SQLModel"]
