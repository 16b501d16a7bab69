"""Every project gets a unique id, recorded in each of its model versions: a version directory is tied to its
database and project, so that a project of the same name in another database can never overwrite or serve it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
    connection = op.get_bind()
    projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    for (project_id,) in connection.execute(sa.select(projects.c.id)).all():
        connection.execute(projects.update().where(projects.c.id == project_id).values(uid=uuid.uuid4().hex))
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_projects_uid", ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("uq_projects_uid", type_="unique")
        batch.drop_column("uid")
