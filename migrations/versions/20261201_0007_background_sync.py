"""The background sync and the consent lifecycle: who started a job, when details were last read, Enable Banking's
counted allowance, and the consent announcements already made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 06:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("trigger", sa.String(length=9), server_default="manual", nullable=False))
    op.create_check_constraint(op.f("ck_jobs_trigger"), "jobs", "trigger IN ('manual', 'scheduled')")
    for table in ("gc_accounts", "eb_accounts"):
        op.add_column(table, sa.Column("details_fetched_at", sa.DateTime(timezone=True), nullable=True))
        # Accounts whose details were read before this column existed: the last read is the best known time.
        op.execute(f"UPDATE {table} SET details_fetched_at = fetched_at WHERE details IS NOT NULL")  # noqa: S608 - a literal table name
    op.add_column("eb_account_limits", sa.Column("limit", sa.Integer(), nullable=True))
    op.create_table(
        "consent_notices",
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=14), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('expiring', 'expiring_final', 'expired')", name=op.f("ck_consent_notices_kind")),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_consent_notices_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "kind", "ends_at", name=op.f("pk_consent_notices")),
    )


def downgrade() -> None:
    op.drop_table("consent_notices")
    op.drop_column("eb_account_limits", "limit")
    for table in ("gc_accounts", "eb_accounts"):
        op.drop_column(table, "details_fetched_at")
    op.drop_constraint(op.f("ck_jobs_trigger"), "jobs", type_="check")
    op.drop_column("jobs", "trigger")
