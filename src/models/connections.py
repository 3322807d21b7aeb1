"""A user's link to one bank through one provider."""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, DateTime, ForeignKey, Index, String, Text, and_, func, or_
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import ConnectionStatus, ConsentNoticeKind, Provider, checked_enum
from src.models.mixins import created_at, updated_at, uuid_pk


class Connection(Base):
    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    provider: Mapped[Provider] = mapped_column(
        checked_enum(Provider, "provider"),
        nullable=False,
        default=Provider.gocardless,
        server_default=Provider.gocardless.value,
    )
    institution_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("institutions.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    friendly_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ConnectionStatus] = mapped_column(
        checked_enum(ConnectionStatus, "status"),
        nullable=False,
        default=ConnectionStatus.pending,
        server_default=ConnectionStatus.pending.value,
    )
    requisition_id: Mapped[str | None] = mapped_column(String(64))  # the current GoCardless requisition
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Between two syncs the stored status can lag the clock: an active connection whose consent has run out is expired
# already (the next sync's derivation stores it). What users see and what they may sync follow these two rules.
def effective_status(connection: Connection, now: datetime) -> ConnectionStatus:
    """The status as of `now`: the stored one, except `expired` for an active connection past its expiry."""
    lapsed = connection.expires_at is not None and connection.expires_at <= now
    if connection.status is ConnectionStatus.active and lapsed:
        return ConnectionStatus.expired
    return connection.status


def currently_active() -> ColumnElement[bool]:
    """SQL for "effective_status is active": the same rule, for selecting connections to sync."""
    return and_(
        Connection.status == ConnectionStatus.active,
        or_(Connection.expires_at.is_(None), Connection.expires_at > func.now()),
    )


class ConsentNotice(Base):
    """An announcement of a consent's end that was made: one per (connection, kind, end date), so that each is
    made once however often the lifecycle check runs, and again when a re-authorisation moves the end."""

    __tablename__ = "consent_notices"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[ConsentNoticeKind] = mapped_column(checked_enum(ConsentNoticeKind, "kind"), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    created_at: Mapped[datetime] = created_at()
