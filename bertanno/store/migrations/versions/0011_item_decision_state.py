"""Each item's decision state kept on its row: how many different annotators have a standing decision on it, and
whether a review or an import decided it, so that drawing the next item reads items, not every annotation; and
the indexes that let it walk one project's items in order and find one annotator's decisions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STANDING = "a.item_id = items.id AND a.undone_at IS NULL AND a.decision <> 'skip'"


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("annotators", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("authoritative", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_items_project_queue", "items", ["project_id", "id"])
    op.create_index("ix_annotations_project_annotator", "annotations", ["project_id", "annotator"])
    op.execute(f"UPDATE items SET "
               f"annotators = (SELECT count(DISTINCT a.annotator) FROM annotations a WHERE {STANDING} "
               f"AND a.source = 'human'), "
               f"authoritative = EXISTS (SELECT 1 FROM annotations a WHERE {STANDING} AND a.source <> 'human')")


def downgrade() -> None:
    op.drop_index("ix_annotations_project_annotator", "annotations")
    op.drop_index("ix_items_project_queue", "items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("authoritative")
        batch.drop_column("annotators")
