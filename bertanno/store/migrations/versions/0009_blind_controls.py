"""Blind control items: a project's share of items served without a pre-annotation, and the mark on a decision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("blind_share", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("blind", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("blind")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("blind_share")
