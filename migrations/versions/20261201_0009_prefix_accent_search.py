"""Transaction search folds accents: the stored search vector is built from the folded text (src/models/transactions.py,
`folded_sql`), so "muller" finds "Müller"; the search itself became prefix matching (src/transactions/repository.py).

The expression is written here as it stood when this migration was made, so that a later change to the model's
folding needs a migration of its own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 07:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = "coalesce(description, '') || ' ' || coalesce(counterparty_name, '')"
NON_ASCII = r"[^\x01-\x7f]"
COMBINING_ACCENTS = r"[\u0300-\u036f]"
FOLD_LETTERS = ("øØłŁđĐðÐħĦıŧŦ", "oollddddhhitt")
FOLD_PAIRS = (("ß", "ss"), ("ẞ", "ss"), ("æ", "ae"), ("Æ", "ae"), ("œ", "oe"), ("Œ", "oe"), ("þ", "th"), ("Þ", "th"))


def _folded(expression: str) -> str:
    sql = (
        f"translate(regexp_replace(normalize(({expression}), NFD), '{COMBINING_ACCENTS}', '', 'g'), "
        f"'{FOLD_LETTERS[0]}', '{FOLD_LETTERS[1]}')"
    )
    for letter, plain in FOLD_PAIRS:
        sql = f"replace({sql}, '{letter}', '{plain}')"
    return f"CASE WHEN ({expression}) ~ '{NON_ASCII}' THEN {sql} ELSE {expression} END"


def _search_vector(expression: str) -> None:
    op.drop_index("ix_transactions_search", table_name="transactions")
    op.drop_column("transactions", "search_vector")
    op.add_column(
        "transactions",
        sa.Column("search_vector", TSVECTOR(), sa.Computed(expression, persisted=True), nullable=True),
    )
    op.create_index("ix_transactions_search", "transactions", ["search_vector"], postgresql_using="gin")


def upgrade() -> None:
    _search_vector(f"to_tsvector('simple'::regconfig, {_folded(TEXT)})")


def downgrade() -> None:
    _search_vector(f"to_tsvector('simple'::regconfig, {TEXT})")
