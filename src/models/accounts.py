"""Bank accounts and their daily balance history."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import AccountStatus, Provider, checked_enum
from src.models.mixins import created_at, updated_at, uuid_pk

# Unconstrained NUMERIC: amounts arrive as decimal strings and are kept exactly, whatever their scale.
Money = Numeric(asdecimal=True)


class Account(Base):
    __tablename__ = "accounts"
    # The provider's id is unique within its provider only: two providers may well use the same id space.
    __table_args__ = (UniqueConstraint("provider", "provider_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    connection_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider: Mapped[Provider] = mapped_column(
        checked_enum(Provider, "provider"),
        nullable=False,
        default=Provider.gocardless,
        server_default=Provider.gocardless.value,
    )
    # The provider's account id currently serving this account (a GoCardless account id, an Enable Banking uid); a
    # re-authorised connection brings a new one.
    provider_id: Mapped[str] = mapped_column(String(128), nullable=False)
    iban: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[AccountStatus] = mapped_column(
        checked_enum(AccountStatus, "status"),
        nullable=False,
        default=AccountStatus.processing,
        server_default=AccountStatus.processing.value,
    )
    balance_amount: Mapped[Decimal | None] = mapped_column(Money)
    balance_currency: Mapped[str | None] = mapped_column(String(3))
    balance_type: Mapped[str | None] = mapped_column(String(64))
    balance_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BalanceSnapshot(Base):
    """One balance per account per day (the type chosen by the balance priority)."""

    __tablename__ = "balance_snapshots"

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
