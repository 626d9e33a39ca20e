"""core: transactional outbox

Revision ID: core_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portfeil.db

revision: str = "core_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", portfeil.db.JSONType, nullable=False),
        sa.Column("created_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
    )
    op.create_index(op.f("ix_outbox_events_topic"), "outbox_events", ["topic"])
    op.create_table(
        "outbox_deliveries",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("delivered_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.id"], name=op.f("fk_outbox_deliveries_event_id_outbox_events")
        ),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_outbox_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("outbox_deliveries")
    op.drop_index(op.f("ix_outbox_events_topic"), table_name="outbox_events")
    op.drop_table("outbox_events")
