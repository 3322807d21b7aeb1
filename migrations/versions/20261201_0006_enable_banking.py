"""Enable Banking, the second provider: its raw `eb_*` tables, and provider on institutions and accounts.

An account's provider id is now unique per provider (an Enable Banking uid and a GoCardless account id live in
different id spaces), and every institution says which provider serves it. Existing rows are GoCardless's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROVIDERS = ("gocardless", "enablebanking")


def _provider_check(table: str, values: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_provider"), table, type_="check", if_exists=True)
    listed = ", ".join(f"'{value}'" for value in values)
    op.create_check_constraint(op.f(f"ck_{table}_provider"), table, f"provider IN ({listed})")


def _provider_column(table: str) -> None:
    op.add_column(table, sa.Column("provider", sa.String(length=13), server_default="gocardless", nullable=False))
    _provider_check(table, PROVIDERS)


def _seen() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _access_state() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "access_state",
        sa.Enum("ok", "expired", "suspended", name="access_state", native_enum=False, create_constraint=True),
        server_default="ok",
        nullable=False,
    )


def upgrade() -> None:
    op.alter_column("connections", "provider", type_=sa.String(length=13), existing_nullable=False)
    _provider_check("connections", PROVIDERS)
    _provider_column("institutions")
    _provider_column("accounts")
    op.alter_column("accounts", "provider_id", type_=sa.String(length=128), existing_nullable=False)
    op.drop_constraint("uq_accounts_provider_id", "accounts", type_="unique")
    op.create_unique_constraint("uq_accounts_provider_provider_id", "accounts", ["provider", "provider_id"])

    op.create_table(
        "eb_aspsps",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        *_seen(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eb_aspsps")),
    )
    op.create_table(
        "eb_aspsp_lists",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_eb_aspsp_lists")),
    )
    op.create_table(
        "eb_authorizations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.String(length=256), nullable=False),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("callback_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        *_seen(),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_eb_authorizations_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eb_authorizations")),
        sa.UniqueConstraint("state", name=op.f("uq_eb_authorizations_state")),
    )
    op.create_index(op.f("ix_eb_authorizations_connection_id"), "eb_authorizations", ["connection_id"])
    op.create_table(
        "eb_sessions",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        *_seen(),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_eb_sessions_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eb_sessions")),
    )
    op.create_index(op.f("ix_eb_sessions_connection_id"), "eb_sessions", ["connection_id"])
    op.create_table(
        "eb_accounts",
        sa.Column("uid", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("identification_hash", sa.String(length=256), nullable=False),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.Column("details", sa.dialects.postgresql.JSONB(), nullable=True),
        _access_state(),
        sa.Column("access_message", sa.Text(), nullable=True),
        sa.Column("access_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transactions_fetched_from", sa.Date(), nullable=True),
        sa.Column("transactions_fetched_to", sa.Date(), nullable=True),
        sa.Column("transactions_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetch_outcome", sa.String(length=32), nullable=True),
        sa.Column("fetch_message", sa.Text(), nullable=True),
        sa.Column("fetch_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetch_run_id", sa.String(length=64), nullable=True),
        *_seen(),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_eb_accounts_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["eb_sessions.id"], name=op.f("fk_eb_accounts_session_id_eb_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_eb_accounts")),
    )
    op.create_index(op.f("ix_eb_accounts_account_id"), "eb_accounts", ["account_id"])
    op.create_index(op.f("ix_eb_accounts_identification_hash"), "eb_accounts", ["identification_hash"])
    op.create_index(op.f("ix_eb_accounts_session_id"), "eb_accounts", ["session_id"])
    op.create_table(
        "eb_balances",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("eb_account_uid", sa.String(length=128), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        sa.ForeignKeyConstraint(
            ["eb_account_uid"],
            ["eb_accounts.uid"],
            name=op.f("fk_eb_balances_eb_account_uid_eb_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eb_balances")),
    )
    op.create_index("ix_eb_balances_eb_account_uid_fetched_at", "eb_balances", ["eb_account_uid", "fetched_at"])
    op.create_table(
        "eb_transactions",
        sa.Column("eb_account_uid", sa.String(length=128), nullable=False),
        sa.Column("transaction_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.dialects.postgresql.JSONB(), nullable=False),
        *_seen(),
        sa.ForeignKeyConstraint(
            ["eb_account_uid"],
            ["eb_accounts.uid"],
            name=op.f("fk_eb_transactions_eb_account_uid_eb_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("eb_account_uid", "transaction_key", name=op.f("pk_eb_transactions")),
    )
    op.create_table(
        "eb_account_limits",
        sa.Column("eb_account_uid", sa.String(length=128), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("details", "balances", "transactions", name="scope", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["eb_account_uid"],
            ["eb_accounts.uid"],
            name=op.f("fk_eb_account_limits_eb_account_uid_eb_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("eb_account_uid", "scope", name=op.f("pk_eb_account_limits")),
    )


def downgrade() -> None:
    for table in (
        "eb_account_limits",
        "eb_transactions",
        "eb_balances",
        "eb_accounts",
        "eb_sessions",
        "eb_authorizations",
        "eb_aspsp_lists",
        "eb_aspsps",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM accounts WHERE provider <> 'gocardless'")
    op.execute("DELETE FROM connections WHERE provider <> 'gocardless'")
    op.execute("DELETE FROM institutions WHERE provider <> 'gocardless'")
    op.drop_constraint("uq_accounts_provider_provider_id", "accounts", type_="unique")
    op.create_unique_constraint("uq_accounts_provider_id", "accounts", ["provider_id"])
    op.alter_column("accounts", "provider_id", type_=sa.String(length=64), existing_nullable=False)
    for table in ("accounts", "institutions"):
        op.drop_constraint(op.f(f"ck_{table}_provider"), table, type_="check")
        op.drop_column(table, "provider")
    _provider_check("connections", ("gocardless",))
    op.alter_column("connections", "provider", type_=sa.String(length=10), existing_nullable=False)
