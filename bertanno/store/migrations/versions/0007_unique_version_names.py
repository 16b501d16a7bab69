"""A version's name is unique within its project: two trainings can never both make ``v003``. Names that
already repeat (made before training took a lock) keep their first holder; later ones get ``-ID`` appended.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    versions = sa.table("model_versions", sa.column("id", sa.Integer), sa.column("project_id", sa.Integer),
                        sa.column("name", sa.String))
    seen = set()
    for version_id, project_id, name in connection.execute(
            sa.select(versions.c.id, versions.c.project_id, versions.c.name).order_by(versions.c.id)).all():
        if (project_id, name) in seen:
            connection.execute(versions.update().where(versions.c.id == version_id).values(name=f"{name}-{version_id}"))
        seen.add((project_id, name))
    with op.batch_alter_table("model_versions") as batch:
        batch.create_unique_constraint("uq_model_versions_project_name", ["project_id", "name"])


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_constraint("uq_model_versions_project_name", type_="unique")
