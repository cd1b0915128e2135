"""episode sources: where an episode lives inside its files, a dataset's format details and mapping

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locator", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("task_indexes", JSON, nullable=False, server_default="[]"))
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("format_version", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("clock", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("options", JSON, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("mapping", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("mapping")
        batch_op.drop_column("options")
        batch_op.drop_column("clock")
        batch_op.drop_column("format_version")
    with op.batch_alter_table("episode", schema=None) as batch_op:
        batch_op.drop_column("task_indexes")
        batch_op.drop_column("locator")
