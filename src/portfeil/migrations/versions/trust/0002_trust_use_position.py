"""trust: keep the order of a relying party's intended uses

Revision ID: trust_0002
Revises: trust_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trust_0002"
down_revision: str | Sequence[str] | None = "trust_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trust_intended_uses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("trust_intended_uses", schema=None) as batch_op:
        batch_op.drop_column("position")
