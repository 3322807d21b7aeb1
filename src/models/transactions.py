"""Unified transactions: one row per logical transaction per account."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.accounts import Money
from src.models.enums import TransactionStatus, checked_enum
from src.models.mixins import created_at, updated_at

# Accent folding for search in plain SQL (the embedded server has no `unaccent` extension): a text with any non-ASCII
# letter is decomposed (Unicode NFD), its combining accents dropped, and the letters that do not decompose (ø, ł, đ,
# ß, æ, œ, þ…) spelled plainly; ASCII text is left as it is, so bank texts without accents cost a pattern test only
# (folding costs about 7 µs a row, computing the vector about 6). The stored search vector and the search's words are
# folded alike (`folded_sql`), so "muller" finds "Müller" and "nordsj" "Nordsjö". Needs a UTF8 database.
_NON_ASCII = r"[^\x01-\x7f]"
_COMBINING_ACCENTS = r"[\u0300-\u036f]"
FOLD_LETTERS = ("øØłŁđĐðÐħĦıŧŦ", "oollddddhhitt")
FOLD_PAIRS = (("ß", "ss"), ("ẞ", "ss"), ("æ", "ae"), ("Æ", "ae"), ("œ", "oe"), ("Œ", "oe"), ("þ", "th"), ("Þ", "th"))


def folded_sql(expression: str) -> str:
    """`expression` (SQL text) folded: for the generated column, its migration and the search's words."""
    sql = (
        f"translate(regexp_replace(normalize(({expression}), NFD), '{_COMBINING_ACCENTS}', '', 'g'), "
        f"'{FOLD_LETTERS[0]}', '{FOLD_LETTERS[1]}')"
    )
    for letter, plain in FOLD_PAIRS:
        sql = f"replace({sql}, '{letter}', '{plain}')"
    return f"CASE WHEN ({expression}) ~ '{_NON_ASCII}' THEN {sql} ELSE {expression} END"


SEARCH_VECTOR_SQL = (
    "to_tsvector('simple'::regconfig, "
    + folded_sql("coalesce(description, '') || ' ' || coalesce(counterparty_name, '')")
    + ")"
)


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("account_id", "transaction_key"),
        # Keyset listing, newest first: per account directly, and across a user's accounts by merging the
        # per-account heads of this same index.
        Index("ix_transactions_account_id_booking_date_id", "account_id", "booking_date", "id"),
        Index("ix_transactions_search", "search_vector", postgresql_using="gin"),
        Index("ix_transactions_booked_as_id", "booked_as_id", postgresql_where="booked_as_id IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    transaction_key: Mapped[str] = mapped_column(String(128), nullable=False)
    transaction_id: Mapped[str | None] = mapped_column(Text)
    internal_transaction_id: Mapped[str | None] = mapped_column(Text)
    entry_reference: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[TransactionStatus] = mapped_column(checked_enum(TransactionStatus, "status"), nullable=False)
    booked_as_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("transactions.id", ondelete="SET NULL"))
    booking_date: Mapped[date] = mapped_column(Date, nullable=False)
    value_date: Mapped[date | None] = mapped_column(Date)
    date_is_estimated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    counterparty_name: Mapped[str | None] = mapped_column(Text)
    counterparty_account: Mapped[str | None] = mapped_column(Text)
    # Digest of the raw row this one was derived from: a re-sync skips raw rows whose digest it already has.
    source_hash: Mapped[str | None] = mapped_column(String(32))
    search_vector: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
