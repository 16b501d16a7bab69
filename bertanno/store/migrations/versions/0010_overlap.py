"""Teams: how many annotators judge each item (overlap) and the rule that settles their decisions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("overlap", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("settle", sa.String(16), nullable=False, server_default="unanimous"))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("settle")
        batch.drop_column("overlap")
