"""Gold checks: the share of draws that serve an annotator a gold item of the evaluation split as an ordinary item
(``projects.gold_share``), and the mark on a decision made on one (``annotations.gold_check``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("gold_share", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("gold_check", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("gold_check")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("gold_share")
