"""population: legal capacity of a person (judicial disability) and the court decision on guardian relations

Revision ID: population_0002
Revises: population_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "population_0002"
down_revision: str | Sequence[str] | None = "population_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pop_persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_capacity", sa.String(7), nullable=False, server_default="full"))
        batch_op.add_column(sa.Column("legal_capacity_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("legal_capacity_decision", sa.String(100), nullable=True))
    with op.batch_alter_table("pop_relations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("court_decision", sa.String(100), nullable=True))


def downgrade() -> None:
    # recreate="never": SQLite (3.35+) drops these plain columns with ALTER TABLE. Recreating pop_persons instead
    # would DROP the table with foreign keys on, and the ON DELETE CASCADE would empty every pop_ table.
    with op.batch_alter_table("pop_relations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("court_decision")
    with op.batch_alter_table("pop_persons", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("legal_capacity_decision")
        batch_op.drop_column("legal_capacity_since")
        batch_op.drop_column("legal_capacity")
