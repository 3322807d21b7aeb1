"""Institution lists fetched per country, and single-use bank callbacks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:38:52.678030+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gc_institution_lists",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_gc_institution_lists")),
    )
    op.add_column("gc_requisitions", sa.Column("callback_completed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("gc_requisitions", "callback_completed_at")
    op.drop_table("gc_institution_lists")
