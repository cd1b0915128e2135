"""boxes carry crowd, custom attributes and split (issue 17)

object_annotation gains `crowd` (COCO's iscrowd: ignored ground truth, as COCOeval ignores crowd
regions), `attributes` (custom attributes with plain values, as CVAT carries them; JSON, `{}` when
none) and `split` (the subset an imported file placed the box in; null when none). Existing boxes are
not crowds, have no attributes and no split. SQLite adds the columns in batch mode (its ALTER TABLE
cannot add a NOT NULL column without a constant default in every version, and batch mode is how this
chain alters tables there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# A rebuild in batch mode (SQLite's drop_column) keeps the table's AUTOINCREMENT (ids never reused, 0009).
KEEP = {"sqlite_autoincrement": True}
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("object_annotation", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.add_column(sa.Column("crowd", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("attributes", JSON, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("split", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("object_annotation", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.drop_column("split")
        batch_op.drop_column("attributes")
        batch_op.drop_column("crowd")
