"""Work-queue leases, vocabularies, model versions and training runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotator", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_leases_project_id", "leases", ["project_id"])
    op.create_table(
        "vocabularies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("directory", sa.String(2000), nullable=False),
        sa.Column("base_model", sa.String(500), nullable=False),
        sa.Column("vocab_hash", sa.String(64), nullable=True),
        sa.Column("training_snapshot", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_model_versions_project_id", "model_versions", ["project_id"])
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.Column("log", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("succeeded", sa.Boolean, nullable=True),
    )
    op.create_index("ix_training_runs_project_id", "training_runs", ["project_id"])


def downgrade() -> None:
    for table in ("training_runs", "model_versions", "vocabularies", "leases"):
        op.drop_table(table)
