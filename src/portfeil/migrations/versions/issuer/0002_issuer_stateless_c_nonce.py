"""issuer: c_nonces are stateless (HMAC) and single-use through the replay table, which is UNLOGGED on PostgreSQL

Revision ID: issuer_0002
Revises: issuer_0001
Create Date: 2026-11-23 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portfeil.db

revision: str = "issuer_0002"
down_revision: str | Sequence[str] | None = "issuer_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("iss_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iss_nonces_expires_at"))
    op.drop_table("iss_nonces")
    if op.get_bind().dialect.name == "postgresql":
        # Replay entries live minutes; their loss in a crash is harmless (see PidIssuer._seen), so their commits
        # need not wait for a WAL flush.
        op.execute("ALTER TABLE iss_seen_jti SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE iss_seen_jti SET LOGGED")
    op.create_table(
        "iss_nonces",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_iss_nonces")),
    )
    with op.batch_alter_table("iss_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iss_nonces_expires_at"), ["expires_at"], unique=False)
