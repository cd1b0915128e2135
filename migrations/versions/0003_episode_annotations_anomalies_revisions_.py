"""episode annotations, anomalies, revisions and sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:39:36.205323
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import persistence.columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "annotation_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user.id"],
            name=op.f("fk_annotation_session_created_by_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_annotation_session_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_session")),
    )
    with op.batch_alter_table("annotation_session", schema=None) as batch_op:
        batch_op.create_index("ix_annotation_session_episode", ["episode_id", "status"], unique=False)

    op.create_table(
        "episode_annotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=10), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("completion", sa.Float(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("subtask_reached", sa.Text(), nullable=True),
        sa.Column("smoothness", sa.Integer(), nullable=True),
        sa.Column("efficiency", sa.Integer(), nullable=True),
        sa.Column("safety", sa.Integer(), nullable=True),
        sa.Column("precision", sa.Integer(), nullable=True),
        sa.Column("video_quality", sa.Integer(), nullable=True),
        sa.Column("sync_issues", sa.Boolean(), nullable=False),
        sa.Column("missing_frames", sa.Boolean(), nullable=False),
        sa.Column("data_notes", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["user.id"],
            name=op.f("fk_episode_annotation_annotator_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episode.id"],
            name=op.f("fk_episode_annotation_episode_id_episode"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user.id"],
            name=op.f("fk_episode_annotation_updated_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_annotation")),
        sa.UniqueConstraint("episode_id", "annotator_id", name="uq_episode_annotation_episode_annotator"),
    )
    with op.batch_alter_table("episode_annotation", schema=None) as batch_op:
        batch_op.create_index("ix_episode_annotation_annotator", ["annotator_id"], unique=False)
        batch_op.create_index("ix_episode_annotation_episode_rating", ["episode_id", "rating"], unique=False)

    op.create_table(
        "annotation_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("saved_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["episode_annotation.id"],
            name=op.f("fk_annotation_revision_annotation_id_episode_annotation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["saved_by"], ["user.id"], name=op.f("fk_annotation_revision_saved_by_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_revision")),
        sa.UniqueConstraint("annotation_id", "version", name="uq_annotation_revision_version"),
    )
    op.create_table(
        "anomaly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("from_frame", sa.Integer(), nullable=False),
        sa.Column("to_frame", sa.Integer(), nullable=False),
        sa.Column("from_time", sa.Float(), nullable=False),
        sa.Column("to_time", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("auto_detected", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["episode_annotation.id"],
            name=op.f("fk_anomaly_annotation_id_episode_annotation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly")),
    )
    with op.batch_alter_table("anomaly", schema=None) as batch_op:
        batch_op.create_index("ix_anomaly_annotation", ["annotation_id"], unique=False)

    op.create_table(
        "session_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("current_frame", sa.Integer(), nullable=False),
        sa.Column("joined_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", persistence.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", persistence.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["annotation_session.id"],
            name=op.f("fk_session_participant_session_id_annotation_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_session_participant_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_participant")),
        sa.UniqueConstraint("session_id", "user_id", name="uq_session_participant_user"),
    )
    with op.batch_alter_table("session_participant", schema=None) as batch_op:
        batch_op.create_index("ix_session_participant_seen", ["left_at", "last_seen_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("session_participant", schema=None) as batch_op:
        batch_op.drop_index("ix_session_participant_seen")

    op.drop_table("session_participant")
    with op.batch_alter_table("anomaly", schema=None) as batch_op:
        batch_op.drop_index("ix_anomaly_annotation")

    op.drop_table("anomaly")
    op.drop_table("annotation_revision")
    with op.batch_alter_table("episode_annotation", schema=None) as batch_op:
        batch_op.drop_index("ix_episode_annotation_episode_rating")
        batch_op.drop_index("ix_episode_annotation_annotator")

    op.drop_table("episode_annotation")
    with op.batch_alter_table("annotation_session", schema=None) as batch_op:
        batch_op.drop_index("ix_annotation_session_episode")

    op.drop_table("annotation_session")
