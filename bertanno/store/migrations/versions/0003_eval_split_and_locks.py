"""The frozen evaluation split on items, promotion times of versions, and named locks for unattended runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("split", sa.String(16), nullable=True))
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("promoted_at", sa.DateTime, nullable=True))
    op.create_table(
        "locks",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("promoted_at")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("split")
