"""Raw GoCardless tables: what GoCardless said, kept verbatim as JSONB.

Extraction writes only these; sync reads only these (through `src/ingest/`), so either can be re-run at any
time with the same result.
"""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    case,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import GcAccessState, GcScope, GcTransactionStatus, checked_enum
from src.models.mixins import first_seen_at, last_seen_at, updated_at

Payload = dict[str, Any]


class GcInstitution(Base):
    __tablename__ = "gc_institutions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class GcInstitutionList(Base):
    """When GoCardless's institution list of a country was last fetched: the API fills a country on first use,
    and a bank that serves many countries must not make the others look fetched."""

    __tablename__ = "gc_institution_lists"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class GcAgreement(Base):
    """An end-user agreement; its `accepted` time plus `access_valid_for_days` give the connection's expiry."""

    __tablename__ = "gc_agreements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class GcRequisition(Base):
    __tablename__ = "gc_requisitions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    # Random, single use, unique: the bank callback's capability (GoCardless requires unique references).
    reference: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    # GoCardless's own code (the known ones: GcRequisitionStatus); text, because clients must accept unknown codes.
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    # Set when the bank callback for this requisition has been handled: the reference is single use.
    callback_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when GoCardless answered 404 for it (deleted there): its connection is expired and can be re-authorised.
    gone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class RawAccountState:
    """What every provider's raw account row records about its reads (a mixin: GcAccount, EbAccount): access, the
    window of the last transactions read, and how the last extraction ended, for the run's outcome."""

    access_state: Mapped[GcAccessState] = mapped_column(
        checked_enum(GcAccessState, "access_state"),
        nullable=False,
        default=GcAccessState.ok,
        server_default=GcAccessState.ok.value,
    )
    access_message: Mapped[str | None] = mapped_column(Text)
    access_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The window the last successful transactions fetch covered: a pending item inside it that the fetch did
    # not return was dropped by the bank (void). No end (NULL): no `date_to` was asked, so the bank answered up
    # to its own present, however far ahead of ours.
    transactions_fetched_from: Mapped[date | None] = mapped_column(Date)
    transactions_fetched_to: Mapped[date | None] = mapped_column(Date)
    transactions_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How the last extraction of this account ended (a SyncOutcomeKind), for the run's per-account outcome.
    fetch_outcome: Mapped[str | None] = mapped_column(String(32))
    fetch_message: Mapped[str | None] = mapped_column(Text)
    fetch_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The Dagster run of that extraction: a run's outcome for the account is this one only if the run fetched.
    fetch_run_id: Mapped[str | None] = mapped_column(String(64))
    # When the account's details were last read: the background sync reads them again weekly (src/ingest/quota.py).
    details_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GcAccount(RawAccountState, Base):
    """A GoCardless account id, and the unified account it belongs to (assigned when first stored)."""

    __tablename__ = "gc_accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requisition_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gc_requisitions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    metadata_payload: Mapped[Payload | None] = mapped_column("metadata", JSONB)
    details_payload: Mapped[Payload | None] = mapped_column("details", JSONB)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class GcBalance(Base):
    """One balances response for one account (all its balance types), as fetched."""

    __tablename__ = "gc_balances"
    __table_args__ = (Index("ix_gc_balances_gc_account_id_fetched_at", "gc_account_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    gc_account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gc_accounts.id", ondelete="CASCADE"), nullable=False
    )
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)


class GcTransaction(Base):
    """One row per logical transaction: the key comes from the one key function in `src/ingest/`."""

    __tablename__ = "gc_transactions"

    gc_account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gc_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    transaction_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[GcTransactionStatus] = mapped_column(checked_enum(GcTransactionStatus, "status"), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class GcAccountLimit(Base):
    """The per-account, per-scope daily allowance as the last response's headers told it."""

    __tablename__ = "gc_account_limits"

    gc_account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gc_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[GcScope] = mapped_column(checked_enum(GcScope, "scope"), primary_key=True)
    limit: Mapped[int | None] = mapped_column(Integer)
    remaining: Mapped[int | None] = mapped_column(Integer)
    reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = updated_at()


UNKNOWN_RESET_BACKOFF = timedelta(hours=1)
"""How long a scope rests when it has no call left and the bank said nothing of when calls come back (a 429
without a reset). A missing reset means "unknown", not "tomorrow": the back-off counts from when the exhaustion was
recorded, so it ends and never moves forward with each sync; then the scope is called again and its answer trusted
(GoCardless does not count refused calls, so a retry costs nothing of the day's allowance)."""


def calls_back_at() -> ColumnElement[datetime | None]:
    """When an account's scope with no call left may be called again: the one "blocked until" rule.

    The rule: the bank's reset time when the bank gave one; else one hour (`UNKNOWN_RESET_BACKOFF`) after the 429
    was recorded. NULL while calls remain.

    Both readers use this expression, never a copy of it: Sync now (`src/jobs/service.py`: a 429 with this time
    when every account of the connection is blocked, and no run) and the extraction (`src/ingest/extraction.py`:
    a blocked scope is not called). The extraction records a 429 with `rests_until`, this rule at the moment of
    recording, so a stored reset is the bank's or the end of the back-off and both readers find the same time.
    """
    return case(
        (
            GcAccountLimit.remaining == 0,
            func.coalesce(GcAccountLimit.reset_at, GcAccountLimit.updated_at + UNKNOWN_RESET_BACKOFF),
        ),
        else_=None,
    )


def rests_until(reset_at: datetime | None, recorded_at: datetime) -> datetime:
    """`calls_back_at` for a 429 being recorded at `recorded_at`: the bank's reset, else the back-off from then."""
    return reset_at or recorded_at + UNKNOWN_RESET_BACKOFF


class GcToken(Base):
    """The shared GoCardless token pair, so that every process reuses it (token/new allows 100 per hour).

    Keyed by a hash of the secret id, so that changed credentials never pick up another account's token.
    Never logged.
    """

    __tablename__ = "gc_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text, nullable=False)
    access_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    refresh_token: Mapped[str] = mapped_column(Text, nullable=False)
    refresh_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = updated_at()
