"""A project's domain vocabulary and its domain-adapted base model.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("vocabulary_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("adapted_model", sa.String(2000), nullable=True))
        batch.create_foreign_key("fk_projects_vocabulary_id", "vocabularies", ["vocabulary_id"], ["id"],
                                 ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("fk_projects_vocabulary_id", type_="foreignkey")
        batch.drop_column("adapted_model")
        batch.drop_column("vocabulary_id")
