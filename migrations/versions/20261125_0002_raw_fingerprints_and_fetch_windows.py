"""Raw transaction fingerprints and the window of each account's last transactions fetch
how its last extraction ended, and the digest a unified transaction was derived from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:18:14.092518+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # gc_transactions is filled only by extraction, which this release introduces: no rows to backfill.
    op.add_column("gc_transactions", sa.Column("fingerprint", sa.String(length=64), nullable=False))
    op.add_column("transactions", sa.Column("source_hash", sa.String(length=32), nullable=True))
    op.add_column("gc_accounts", sa.Column("transactions_fetched_from", sa.Date(), nullable=True))
    op.add_column("gc_accounts", sa.Column("transactions_fetched_to", sa.Date(), nullable=True))
    op.add_column("gc_accounts", sa.Column("transactions_fetched_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("gc_accounts", sa.Column("fetch_outcome", sa.String(length=32), nullable=True))
    op.add_column("gc_accounts", sa.Column("fetch_message", sa.Text(), nullable=True))
    op.add_column("gc_accounts", sa.Column("fetch_retry_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("gc_accounts", sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("gc_transactions", "fingerprint")
    op.drop_column("transactions", "source_hash")
    for column in ("fetched_at", "fetch_retry_at", "fetch_message", "fetch_outcome"):
        op.drop_column("gc_accounts", column)
    op.drop_column("gc_accounts", "transactions_fetched_at")
    op.drop_column("gc_accounts", "transactions_fetched_to")
    op.drop_column("gc_accounts", "transactions_fetched_from")
