"""The evaluation split grows with the project: every decided item is assigned ``eval`` or ``train`` once;
items that earlier versions may have trained on are marked ``train`` so they can never join the split.
Training runs record the gate's verdict (paired bootstrap).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("gate", sa.JSON, nullable=True))
    op.execute(
        "UPDATE items SET split = 'train' WHERE split IS NULL "
        "AND id IN (SELECT item_id FROM annotations) "
        "AND project_id IN (SELECT project_id FROM model_versions)"
    )


def downgrade() -> None:
    op.execute("UPDATE items SET split = NULL WHERE split = 'train'")
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("gate")
