"""trust: anchors, certificates, publications, relying parties, wallet units

Revision ID: trust_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portfeil.db

revision: str = "trust_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("trust",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trust_anchors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("added_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_anchors")),
        sa.UniqueConstraint("role", "sha256", name="uq_trust_anchors_role_sha256"),
    )
    with op.batch_alter_table("trust_anchors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_anchors_role"), ["role"], unique=False)

    op.create_table(
        "trust_breaches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("description", portfeil.db.JSONType, nullable=False),
        sa.Column("affected_versions", portfeil.db.JSONType, nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("affected_units", sa.Integer(), nullable=False),
        sa.Column("declared_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_breaches")),
    )
    op.create_table(
        "trust_nonces",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("expires_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_trust_nonces")),
    )
    with op.batch_alter_table("trust_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_nonces_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "trust_publications",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("next_update", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trust_publications")),
    )
    op.create_table(
        "trust_relying_parties",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("legal_name", sa.String(length=300), nullable=False),
        sa.Column("trade_name", sa.String(length=300), nullable=False),
        sa.Column("eik", sa.String(length=13), nullable=False),
        sa.Column("dns", sa.String(length=253), nullable=False),
        sa.Column("contacts", portfeil.db.JSONType, nullable=False),
        sa.Column("dpa", portfeil.db.JSONType, nullable=False),
        sa.Column("privacy_policy_url", sa.String(length=2000), nullable=False),
        sa.Column("info_url", sa.String(length=2000), nullable=True),
        sa.Column("public_body", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_relying_parties")),
    )
    with op.batch_alter_table("trust_relying_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_relying_parties_eik"), ["eik"], unique=False)
        batch_op.create_index(batch_op.f("ix_trust_relying_parties_status"), ["status"], unique=False)

    op.create_table(
        "trust_seen_lists",
        sa.Column("list_key", sa.String(length=300), nullable=False),
        sa.Column("highest_sequence", sa.Integer(), nullable=False),
        sa.Column("next_update", portfeil.db.UTCDateTime(), nullable=True),
        sa.Column("verified_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("list_key", name=op.f("pk_trust_seen_lists")),
    )
    op.create_table(
        "trust_status_lists",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("allocator", portfeil.db.JSONType, nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trust_status_lists")),
    )
    op.create_table(
        "trust_wallet_units",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("jkt", sa.String(length=64), nullable=False),
        sa.Column("jwk", portfeil.db.JSONType, nullable=False),
        sa.Column("wallet_name", sa.String(length=100), nullable=False),
        sa.Column("wallet_version", sa.String(length=50), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=True),
        sa.Column("person_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_wallet_units")),
        sa.UniqueConstraint("jkt", name=op.f("uq_trust_wallet_units_jkt")),
        sa.UniqueConstraint("status_idx", name="uq_trust_wallet_units_status_idx"),
    )
    with op.batch_alter_table("trust_wallet_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_wallet_units_person_ref"), ["person_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_trust_wallet_units_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_trust_wallet_units_wallet_version"), ["wallet_version"], unique=False)

    op.create_table(
        "trust_certificates",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("rp_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("san", portfeil.db.JSONType, nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("not_before", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("not_after", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", portfeil.db.UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["trust_relying_parties.id"], name=op.f("fk_trust_certificates_rp_id_trust_relying_parties")
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_trust_certificates")),
        sa.UniqueConstraint("sha256", name=op.f("uq_trust_certificates_sha256")),
    )
    with op.batch_alter_table("trust_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_certificates_role"), ["role"], unique=False)
        batch_op.create_index(batch_op.f("ix_trust_certificates_rp_id"), ["rp_id"], unique=False)

    op.create_table(
        "trust_intended_uses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rp_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", portfeil.db.JSONType, nullable=False),
        sa.Column("credentials", portfeil.db.JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["trust_relying_parties.id"], name=op.f("fk_trust_intended_uses_rp_id_trust_relying_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_intended_uses")),
    )
    with op.batch_alter_table("trust_intended_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_intended_uses_rp_id"), ["rp_id"], unique=False)

    op.create_table(
        "trust_rp_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rp_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", portfeil.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rp_id"], ["trust_relying_parties.id"], name=op.f("fk_trust_rp_events_rp_id_trust_relying_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_rp_events")),
    )
    with op.batch_alter_table("trust_rp_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_rp_events_rp_id"), ["rp_id"], unique=False)

    op.create_table(
        "trust_wallet_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("wallet_unit_id", sa.String(length=36), nullable=False),
        sa.Column("breach_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message", portfeil.db.JSONType, nullable=False),
        sa.Column("created_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["breach_id"], ["trust_breaches.id"], name=op.f("fk_trust_wallet_notices_breach_id_trust_breaches")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_unit_id"],
            ["trust_wallet_units.id"],
            name=op.f("fk_trust_wallet_notices_wallet_unit_id_trust_wallet_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_wallet_notices")),
    )
    with op.batch_alter_table("trust_wallet_notices", schema=None) as batch_op:
        batch_op.create_index("ix_trust_wallet_notices_unit_created", ["wallet_unit_id", "created_at"], unique=False)

    op.create_table(
        "trust_registration_certificates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rp_id", sa.String(length=36), nullable=False),
        sa.Column("intended_use_id", sa.String(length=36), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("jwt", sa.Text(), nullable=False),
        sa.Column("issued_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", portfeil.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intended_use_id"],
            ["trust_intended_uses.id"],
            name=op.f("fk_trust_registration_certificates_intended_use_id_trust_intended_uses"),
        ),
        sa.ForeignKeyConstraint(
            ["rp_id"],
            ["trust_relying_parties.id"],
            name=op.f("fk_trust_registration_certificates_rp_id_trust_relying_parties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_registration_certificates")),
        sa.UniqueConstraint("status_idx", name="uq_trust_registration_certificates_status_idx"),
    )
    with op.batch_alter_table("trust_registration_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trust_registration_certificates_rp_id"), ["rp_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trust_registration_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_registration_certificates_rp_id"))

    op.drop_table("trust_registration_certificates")
    with op.batch_alter_table("trust_wallet_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_wallet_notices_unit_created")

    op.drop_table("trust_wallet_notices")
    with op.batch_alter_table("trust_rp_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_rp_events_rp_id"))

    op.drop_table("trust_rp_events")
    with op.batch_alter_table("trust_intended_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_intended_uses_rp_id"))

    op.drop_table("trust_intended_uses")
    with op.batch_alter_table("trust_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_certificates_rp_id"))
        batch_op.drop_index(batch_op.f("ix_trust_certificates_role"))

    op.drop_table("trust_certificates")
    with op.batch_alter_table("trust_wallet_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_wallet_units_wallet_version"))
        batch_op.drop_index(batch_op.f("ix_trust_wallet_units_status"))
        batch_op.drop_index(batch_op.f("ix_trust_wallet_units_person_ref"))

    op.drop_table("trust_wallet_units")
    op.drop_table("trust_status_lists")
    op.drop_table("trust_seen_lists")
    with op.batch_alter_table("trust_relying_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_relying_parties_status"))
        batch_op.drop_index(batch_op.f("ix_trust_relying_parties_eik"))

    op.drop_table("trust_relying_parties")
    op.drop_table("trust_publications")
    with op.batch_alter_table("trust_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_nonces_expires_at"))

    op.drop_table("trust_nonces")
    op.drop_table("trust_breaches")
    with op.batch_alter_table("trust_anchors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_anchors_role"))

    op.drop_table("trust_anchors")
