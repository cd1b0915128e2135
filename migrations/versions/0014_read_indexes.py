"""read indexes: pages of boxes and of comparisons in page order (issue 21)

A page of an episode's boxes is ordered by (frame, id) and a page of a test session's comparisons by
id; these indexes let `LATERAL (... ORDER BY ... LIMIT n)` read n rows per parent instead of sorting
all of the parent's rows (persistence/repositories/pages.py). Episodes already have theirs
(uq_episode_dataset_index).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_object_annotation_page", "object_annotation", ["episode_id", "frame", "id"])
    op.create_index("ix_detection_comparison_page", "detection_comparison", ["session_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_detection_comparison_page", table_name="detection_comparison")
    op.drop_index("ix_object_annotation_page", table_name="object_annotation")
