"""Every decision records how it was made: active time, keystrokes, what was shown, the edit.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (("active_ms", sa.Integer), ("keystrokes", sa.Integer), ("shown_version", lambda: sa.String(200)),
           ("shown_family", lambda: sa.String(64)), ("edit", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
