"""Notifications: the webhook endpoints users register, the durable outbox every notification passes through, and
each endpoint's delivery log.

The outbox is transactional: an event's rows are written in the transaction of the change they announce
(`src.notifications.enqueue`), so an announcement exists exactly when its change was committed, and a deliverer
(`src.notifications.deliver_due`, run by the Dagster sensor) sends them afterwards, surviving restarts. One row per
(event, destination): the event's id (`event_id`) is the same in every row and every retry, and receivers
de-duplicate on it.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import checked_enum
from src.models.mixins import created_at, uuid_pk


class EventType(StrEnum):
    """What a notification announces (the body's `type`; receivers switch on it)."""

    sync_completed = "sync.completed"
    sync_failed = "sync.failed"
    consent_expiring = "consent.expiring"
    consent_expired = "consent.expired"
    connection_rate_limited = "connection.rate_limited"
    # Sent by `POST /api/webhooks/{id}/test` to that one endpoint; nobody subscribes to it.
    webhook_test = "webhook.test"


SUBSCRIBABLE_EVENTS: tuple[EventType, ...] = tuple(event for event in EventType if event is not EventType.webhook_test)
"""The events an endpoint may subscribe to (every one but the test event)."""

CONSENT_EVENTS: frozenset[EventType] = frozenset({EventType.consent_expiring, EventType.consent_expired})
"""The events also sent by e-mail to the user's address."""


class NotificationChannel(StrEnum):
    webhook = "webhook"
    email = "email"


def _listed(values: tuple[EventType, ...]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


EVENTS_CHECK = f"events <@ ARRAY[{_listed(SUBSCRIBABLE_EVENTS)}]::varchar[]"
"""`webhook_endpoints.events` holds only subscribable events (a migration that adds an event swaps it)."""


class WebhookEndpoint(Base):
    """A URL a user asked finsync to POST events to, signed with the endpoint's own secret.

    The signing secret is stored sealed (`src/db/encryption.py`): shown once when the endpoint is made, read back
    only to sign. `events` NULL means every subscribable event.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint(EVENTS_CHECK, name="events"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    secret: Mapped[str] = mapped_column(Text, nullable=False)  # sealed; never logged, never answered after creation
    created_at: Mapped[datetime] = created_at()
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


PENDING = text("delivered_at IS NULL AND gave_up_at IS NULL")
"""A row still to be sent (neither delivered nor given up): the predicate of the outbox's partial indexes."""


class NotificationOutbox(Base):
    """One notification to one destination (a webhook endpoint, or an e-mail address), until it is delivered or
    given up. `payload` is the whole body as sent; `id` orders an endpoint's rows (delivered strictly in order)."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        CheckConstraint(
            "(channel = 'webhook' AND endpoint_id IS NOT NULL) OR (channel = 'email' AND recipient IS NOT NULL)",
            name="destination",
        ),
        # The deliverer's scans: what is due, and an endpoint's earliest pending row.
        Index("ix_notification_outbox_due", "next_attempt_at", postgresql_where=PENDING),
        Index("ix_notification_outbox_endpoint_pending", "endpoint_id", "id", postgresql_where=PENDING),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_type: Mapped[EventType] = mapped_column(checked_enum(EventType, "event_type"), nullable=False)
    channel: Mapped[NotificationChannel] = mapped_column(checked_enum(NotificationChannel, "channel"), nullable=False)
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    recipient: Mapped[str | None] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the last attempt failed, short and without any secret (a status code, an error class, a reason).
    last_error: Mapped[str | None] = mapped_column(String(300))
    gave_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One attempt to deliver an outbox row to its endpoint: the endpoint's delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_id_attempted_at", "endpoint_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    outbox_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("notification_outbox.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[EventType] = mapped_column(checked_enum(EventType, "event_type"), nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)  # the receiver's answer; NULL when none came
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
