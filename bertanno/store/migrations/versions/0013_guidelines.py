"""Annotation guidelines: a project's Markdown text, versioned (``guidelines``), and on each decision the version
it was made under (``annotations.guidelines_version``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guidelines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("project_id", "version", name="uq_guidelines_project_version"),
    )
    op.create_index("ix_guidelines_project_id", "guidelines", ["project_id"])
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("guidelines_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("guidelines_version")
    op.drop_index("ix_guidelines_project_id", "guidelines")
    op.drop_table("guidelines")
