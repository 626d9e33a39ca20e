"""population: persons, addresses, parent/guardian relations, identity documents, append-only change history

Revision ID: population_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portfeil.db

revision: str = "population_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("population",)
depends_on: str | Sequence[str] | None = None

JSON = portfeil.db.JSONType
TS = portfeil.db.UTCDateTime


def _fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["pop_persons.id"], name=op.f(f"fk_{table}_{column}_pop_persons"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "pop_persons",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("personal_number", sa.String(10), nullable=False),
        sa.Column("number_kind", sa.String(5), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("middle_name", sa.String(100), nullable=True),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("given_name_latin", sa.String(150), nullable=False),
        sa.Column("middle_name_latin", sa.String(150), nullable=True),
        sa.Column("family_name_latin", sa.String(150), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_country", sa.String(2), nullable=False),
        sa.Column("birth_region", sa.String(100), nullable=True),
        sa.Column("birth_municipality", sa.String(100), nullable=True),
        sa.Column("birth_locality", sa.String(100), nullable=True),
        sa.Column("sex", sa.SmallInteger(), nullable=False),
        sa.Column("nationalities", JSON, nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("created_at", TS(), nullable=False),
        sa.Column("updated_at", TS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pop_persons")),
        sa.UniqueConstraint("personal_number", name=op.f("uq_pop_persons_personal_number")),
    )
    op.create_index(op.f("ix_pop_persons_birth_date"), "pop_persons", ["birth_date"])
    op.create_index(
        "ix_pop_persons_deceased", "pop_persons", ["date_of_death"],
        postgresql_where=sa.text("date_of_death IS NOT NULL"), sqlite_where=sa.text("date_of_death IS NOT NULL"),
    )
    op.create_table(
        "pop_addresses",
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("municipality", sa.String(100), nullable=True),
        sa.Column("locality", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(10), nullable=True),
        sa.Column("street", sa.String(150), nullable=True),
        sa.Column("number", sa.String(20), nullable=True),
        sa.Column("block", sa.String(20), nullable=True),
        sa.Column("entrance", sa.String(10), nullable=True),
        sa.Column("floor", sa.String(10), nullable=True),
        sa.Column("apartment", sa.String(10), nullable=True),
        _fk("pop_addresses", "person_id"),
        sa.PrimaryKeyConstraint("person_id", "kind", name=op.f("pk_pop_addresses")),
    )
    op.create_table(
        "pop_relations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("adult_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        _fk("pop_relations", "person_id"),
        _fk("pop_relations", "adult_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pop_relations")),
    )
    op.create_index(op.f("ix_pop_relations_person_id"), "pop_relations", ["person_id"])
    op.create_index(op.f("ix_pop_relations_adult_id"), "pop_relations", ["adult_id"])
    op.create_table(
        "pop_documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("doc_type", sa.String(20), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("issuing_authority", sa.String(100), nullable=False),
        sa.Column("status_changed_at", TS(), nullable=True),
        _fk("pop_documents", "person_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pop_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_pop_documents_number")),
    )
    op.create_index(op.f("ix_pop_documents_person_id"), "pop_documents", ["person_id"])
    op.create_table(
        "pop_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("change", sa.String(30), nullable=False),
        sa.Column("old_values", JSON, nullable=True),
        sa.Column("new_values", JSON, nullable=True),
        sa.Column("at", TS(), nullable=False),
        sa.Column("legal_ground", sa.String(200), nullable=True),
        sa.Column("actor", sa.String(100), nullable=True),
        _fk("pop_changes", "person_id"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_pop_changes")),
    )
    op.create_index(op.f("ix_pop_changes_person_id"), "pop_changes", ["person_id"])
    # The history is append-only: the database itself refuses to rewrite it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION pop_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'pop_changes is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER pop_changes_no_update BEFORE UPDATE ON pop_changes "
            "FOR EACH ROW EXECUTE FUNCTION pop_changes_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER pop_changes_no_update BEFORE UPDATE ON pop_changes "
            "BEGIN SELECT RAISE(ABORT, 'pop_changes is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS pop_changes_no_update ON pop_changes")
        op.execute("DROP FUNCTION IF EXISTS pop_changes_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS pop_changes_no_update")
    op.drop_table("pop_changes")
    op.drop_table("pop_documents")
    op.drop_table("pop_relations")
    op.drop_table("pop_addresses")
    op.drop_index("ix_pop_persons_deceased", table_name="pop_persons")
    op.drop_index(op.f("ix_pop_persons_birth_date"), table_name="pop_persons")
    op.drop_table("pop_persons")
