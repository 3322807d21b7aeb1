"""E-mail addresses stored before they were normalised take their NFKC form (src/auth/emails.py).

An address is rewritten only where no other account already holds its normal form (case-insensitively, as the
unique index compares): two accounts that differ only in Unicode form are left as they are, for a person to merge.
Nothing is undone on downgrade: the normal form is the same address.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 22:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE users u SET email = normalize(u.email, NFKC)
        WHERE u.email IS DISTINCT FROM normalize(u.email, NFKC)
          AND NOT EXISTS (
              SELECT 1 FROM users other
              WHERE other.id <> u.id
                AND lower(normalize(other.email, NFKC)) = lower(normalize(u.email, NFKC))
          )
        """
    )


def downgrade() -> None:
    pass
