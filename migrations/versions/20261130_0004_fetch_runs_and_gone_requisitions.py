"""Which run fetched an account last, and requisitions GoCardless no longer knows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 21:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("gc_accounts", sa.Column("fetch_run_id", sa.String(length=64), nullable=True))
    op.add_column("gc_requisitions", sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("gc_requisitions", "gone_at")
    op.drop_column("gc_accounts", "fetch_run_id")
