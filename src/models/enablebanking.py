"""Raw Enable Banking tables: what Enable Banking said, kept verbatim as JSONB (the `eb_*` twins of `gc_*`).

Extraction writes only these; sync reads only these (through `src/ingest/enablebanking/`). The consent chain is
authorisation (`POST /auth`, its `state` the callback's capability) → session (`POST /sessions`, after the person
consented) → accounts (a new `uid` in every session; `identification_hash` stays the same across sessions). A
connection's current session is its newest one: a session exists only once the person has consented, so a refused
re-authorisation leaves the connection on the session it had.
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import GcScope, checked_enum
from src.models.gocardless import Payload, RawAccountState
from src.models.mixins import first_seen_at, last_seen_at, updated_at


class EbAspsp(Base):
    """A bank as `GET /aspsps` lists it. `id` is finsync's institution id for it (`ENABLEBANKING-…`: Enable Banking
    names a bank by name and country, and the id must never collide with a GoCardless one)."""

    __tablename__ = "eb_aspsps"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class EbAspspList(Base):
    """When a country's bank list was last fetched from Enable Banking."""

    __tablename__ = "eb_aspsp_lists"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class EbAuthorization(Base):
    """One `POST /auth`: a consent the person was sent to give. Its `state` is the single-use capability the bank's
    redirect brings back (as a GoCardless requisition's reference is)."""

    __tablename__ = "eb_authorizations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # Enable Banking's authorization_id
    connection_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True
    )
    state: Mapped[str] = mapped_column(String(256), nullable=False, unique=True)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    # Set once the redirect for this authorisation was handled (the state is single use), with what it said.
    callback_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(String(128))
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class EbSession(Base):
    """A session: the consent the person gave, until `valid_until` or until it is closed, revoked or expired."""

    __tablename__ = "eb_sessions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # session_id
    connection_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Enable Banking's status (EbSessionStatus; text, because clients must accept unknown codes).
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    # Set when Enable Banking said the session is over (EXPIRED/CLOSED/REVOKED_SESSION) or finsync ended it.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_reason: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class EbAccount(RawAccountState, Base):
    """An account `uid` of one session, and the unified account it belongs to (assigned when first stored)."""

    __tablename__ = "eb_accounts"

    uid: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("eb_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    identification_hash: Mapped[str] = mapped_column(String(256), nullable=False, index=True)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)  # the AccountResource the session listed
    details_payload: Mapped[Payload | None] = mapped_column("details", JSONB)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class EbBalance(Base):
    """One balances answer for one account uid (`{"balances": [...]}`), as fetched."""

    __tablename__ = "eb_balances"
    __table_args__ = (Index("ix_eb_balances_eb_account_uid_fetched_at", "eb_account_uid", "fetched_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    eb_account_uid: Mapped[str] = mapped_column(
        String(128), ForeignKey("eb_accounts.uid", ondelete="CASCADE"), nullable=False
    )
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)


class EbTransaction(Base):
    """One row per logical transaction per account uid; the key comes from the key rule in `src/ingest/keys.py`."""

    __tablename__ = "eb_transactions"

    eb_account_uid: Mapped[str] = mapped_column(
        String(128), ForeignKey("eb_accounts.uid", ondelete="CASCADE"), primary_key=True
    )
    transaction_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False)  # Enable Banking's code (EbTransactionStatus)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[Payload] = mapped_column(JSONB, nullable=False)
    first_seen_at: Mapped[datetime] = first_seen_at()
    last_seen_at: Mapped[datetime] = last_seen_at()


class EbAccountLimit(Base):
    """The unattended calls left for an account and scope, and when they come back. Enable Banking sends no
    allowance headers: finsync counts its own unattended reads against the bank's daily allowance (`limit`, PSD2's
    four a day) and records the bank's refusals (ASPSP_RATE_LIMIT_EXCEEDED) as none left until the reset."""

    __tablename__ = "eb_account_limits"

    eb_account_uid: Mapped[str] = mapped_column(
        String(128), ForeignKey("eb_accounts.uid", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[GcScope] = mapped_column(checked_enum(GcScope, "scope"), primary_key=True)
    limit: Mapped[int | None] = mapped_column(Integer)
    remaining: Mapped[int | None] = mapped_column(Integer)
    reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = updated_at()
