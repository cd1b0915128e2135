"""signal paths: how a device reported each detection (issue 22)

detection_event.signal_path: NETWORK, SERIAL, CAN or GPIO; rows from before read NETWORK (the only path
there was: HTTP to ingestDetectionEvents). A session's paths and their tolerances live in its settings
JSON (test_session.settings.signalPaths) and the latency by path in its metrics JSON: no column there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detection_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signal_path", sa.String(length=8), server_default="NETWORK", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("detection_event", schema=None) as batch_op:
        batch_op.drop_column("signal_path")
