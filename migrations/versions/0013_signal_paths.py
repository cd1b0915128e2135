"""signal paths (reserved for the issue 22 signal path helper; fill in or leave to be removed)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
