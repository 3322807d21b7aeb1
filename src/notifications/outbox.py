"""Writing notifications: the transactional outbox.

`enqueue` runs inside the caller's transaction and never commits: the rows it writes exist exactly when the change
they announce is committed (a rolled-back sync announces nothing), and they wait in `notification_outbox` until
the deliverer (`src/notifications/delivery.py`) sends them, across restarts.

The body every destination receives is `{"id", "type", "created_at", "data"}`: `id` is the event id (the same in
each destination's row and in every retry: receivers de-duplicate on it), `created_at` when the event happened (ISO
8601, UTC), `data` what the caller said about it. The data each event carries (callers keep to these keys):

- `sync.completed` / `sync.failed`: `connection_id`, `job_id`, `institution_name`, and for a failure `message`;
- `consent.expiring` / `consent.expired`: `connection_id`, `institution_name`, `ends_at` (ISO 8601), which the
  e-mail puts in its sentence;
- `connection.rate_limited`: `connection_id`, `institution_name`, `retry_at` (ISO 8601) when known;
- `webhook.test`: `endpoint_id` and a `message`.
"""

import json
import logging
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String, any_, insert, literal, null, or_, select
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Session

from src import clock
from src.models import User, WebhookEndpoint
from src.models.notifications import CONSENT_EVENTS, EventType, NotificationChannel, NotificationOutbox

log = logging.getLogger(__name__)

_COLUMNS = ["event_id", "user_id", "event_type", "channel", "endpoint_id", "recipient", "payload", "created_at"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be put in a notification")


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_body(event_id: uuid.UUID, event_type: EventType, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of an event, as every destination receives it (dates, decimals and ids as strings)."""
    plain = json.loads(json.dumps(data, default=_jsonable))
    return {"id": str(event_id), "type": event_type.value, "created_at": _timestamp(at), "data": plain}


def _moment(occurred_at: datetime | None) -> datetime:
    if occurred_at is None:
        return clock.now()
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be an aware datetime (UTC)")
    return occurred_at.astimezone(UTC)


def _constants(
    event_id: uuid.UUID, event_type: EventType, channel: NotificationChannel, body: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "event_id": literal(event_id, UUID(as_uuid=True)),
        "event_type": literal(event_type.value, String),
        "channel": literal(channel.value, String),
        "payload": literal(body, JSONB),
        "created_at": literal(at, DateTime(timezone=True)),
    }


def enqueue(
    session: Session,
    *,
    user_id: uuid.UUID,
    event_type: EventType,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Announce an event of `user_id`'s, inside the caller's transaction (never commits): one outbox row per enabled
    webhook endpoint of the user subscribed to `event_type`, and for the consent events one e-mail to the user's
    address. Returns the event id (in every row's body)."""
    at = _moment(occurred_at)
    event_id = uuid.uuid4()
    body = build_body(event_id, event_type, at, data)
    hooks = _constants(event_id, event_type, NotificationChannel.webhook, body, at)
    webhooks = session.execute(
        insert(NotificationOutbox).from_select(
            [*_COLUMNS, "next_attempt_at"],
            select(
                hooks["event_id"],
                WebhookEndpoint.user_id,
                hooks["event_type"],
                hooks["channel"],
                WebhookEndpoint.id,
                null(),
                hooks["payload"],
                hooks["created_at"],
                hooks["created_at"],
            )
            .where(
                WebhookEndpoint.user_id == user_id,
                WebhookEndpoint.disabled_at.is_(None),
                or_(
                    WebhookEndpoint.events.is_(None), literal(event_type.value, String) == any_(WebhookEndpoint.events)
                ),
            )
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id),
        )
    ).rowcount  # type: ignore[attr-defined]
    emails = 0
    if event_type in CONSENT_EVENTS:
        mail = _constants(event_id, event_type, NotificationChannel.email, body, at)
        emails = session.execute(
            insert(NotificationOutbox).from_select(
                [*_COLUMNS, "next_attempt_at"],
                select(
                    mail["event_id"],
                    User.id,
                    mail["event_type"],
                    mail["channel"],
                    null(),
                    User.email,
                    mail["payload"],
                    mail["created_at"],
                    mail["created_at"],
                ).where(User.id == user_id),
            )
        ).rowcount  # type: ignore[attr-defined]
    log.info(
        "notification enqueued",
        extra={
            "user_id": str(user_id),
            "event_id": str(event_id),
            "event_type": event_type.value,
            "webhooks": webhooks,
            "emails": emails,
        },
    )
    return event_id


def enqueue_test(session: Session, endpoint: WebhookEndpoint, *, occurred_at: datetime | None = None) -> uuid.UUID:
    """A `webhook.test` event to `endpoint` only (the endpoint's owner asked for it), in the caller's transaction."""
    at = _moment(occurred_at)
    event_id = uuid.uuid4()
    data = {"endpoint_id": str(endpoint.id), "message": "A test event from finsync: this endpoint receives events."}
    session.add(
        NotificationOutbox(
            event_id=event_id,
            user_id=endpoint.user_id,
            event_type=EventType.webhook_test,
            channel=NotificationChannel.webhook,
            endpoint_id=endpoint.id,
            payload=build_body(event_id, EventType.webhook_test, at, data),
            created_at=at,
            next_attempt_at=at,
        )
    )
    session.flush()
    log.info(
        "webhook test enqueued",
        extra={"user_id": str(endpoint.user_id), "endpoint_id": str(endpoint.id), "event_id": str(event_id)},
    )
    return event_id
