"""ids are never reused: SQLite tables with an integer id get AUTOINCREMENT

Without AUTOINCREMENT, SQLite gives a new row max(id) + 1, so deleting the newest project, test
session, suggestion, ... hands its id to the next one, and a client that cached the old object (a
normalized Relay or Apollo cache, an event in flight) shows the wrong one. With it, SQLite keeps the
highest id ever given in `sqlite_sequence`. PostgreSQL's SERIAL sequences never give a number twice,
so nothing changes there. The object_annotation table has had AUTOINCREMENT since 0004.

SQLite cannot alter a primary key: each table is rebuilt (batch mode copies the rows, ids included,
and sets `sqlite_sequence` to the highest id copied). migrations/env.py runs SQLite migrations with
foreign keys off, so dropping the old table does not cascade into the tables that refer to it, and
checks every reference before committing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Every table whose primary key is one integer id given by the database (object_annotation excepted:
# created with AUTOINCREMENT). tests/persistence/test_migrations.py checks this list is whole.
TABLES = (
    "user",
    "api_token",
    "dataset",
    "task",
    "episode",
    "job",
    "episode_annotation",
    "anomaly",
    "annotation_revision",
    "annotation_session",
    "session_participant",
    "label",
    "episode_analysis",
    "project",
    "test_session",
    "detection_event",
    "detection_comparison",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TABLES:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
