"""segments: time segments annotators mark on episodes, the dataset's segment vocabulary, and a
reviewer's correction of an episode's task text (issue 19)

segment_label: a dataset's segment names with colours and whether their segments may overlap others.
episode_segment: one annotator's segment (frame range, derived times, label, instruction, notes),
versioned. episode_segment_task: an episode's corrected task text with the original it replaced.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import persistence.columns

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("may_overlap", sa.Boolean(), nullable=False),
        sa.Column("created_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_segment_label_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_label")),
        sa.UniqueConstraint("dataset_id", "name", name="uq_segment_label_dataset_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "episode_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_frame", sa.Integer(), nullable=False),
        sa.Column("to_frame", sa.Integer(), nullable=False),
        sa.Column("from_time", sa.Float(), nullable=False),
        sa.Column("to_time", sa.Float(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_episode_segment_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["user.id"],
            name=op.f("fk_episode_segment_annotator_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["segment_label.id"],
            name=op.f("fk_episode_segment_label_id_segment_label"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user.id"],
            name=op.f("fk_episode_segment_updated_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_segment")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("episode_segment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_episode_segment_episode_annotator", ["episode_id", "annotator_id"], unique=False
        )
        batch_op.create_index("ix_episode_segment_label", ["label_id"], unique=False)
    op.create_table(
        "episode_segment_task",
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("corrected_by", sa.Integer(), nullable=True),
        sa.Column("corrected_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_episode_segment_task_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by"],
            ["user.id"],
            name=op.f("fk_episode_segment_task_corrected_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_episode_segment_task")),
    )


def downgrade() -> None:
    op.drop_table("episode_segment_task")
    with op.batch_alter_table("episode_segment", schema=None) as batch_op:
        batch_op.drop_index("ix_episode_segment_label")
        batch_op.drop_index("ix_episode_segment_episode_annotator")
    op.drop_table("episode_segment")
    op.drop_table("segment_label")
