"""Webhook endpoints: register, list, read, delete, test, and read the delivery log; every endpoint reached through
its owner (another user's id is 404, as a missing one is).

A user has at most `MAX_WEBHOOKS_PER_USER` endpoints. A URL is checked by `src.notifications.validate_webhook_url`
(https and public addresses in production) when it is registered, and again by the deliverer before each send.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from src.db.encryption import secret_box
from src.kit.pagination import InvalidCursorError, decode_cursor, encode_cursor
from src.models import User
from src.models.notifications import NotificationOutbox, WebhookDelivery, WebhookEndpoint
from src.notifications import UnsafeWebhookUrlError, enqueue_test, new_signing_secret, validate_webhook_url
from src.settings import Environment, settings
from src.webhooks.exceptions import TooManyWebhooksError, WebhookNotFoundError, WebhookUrlRefusedError

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_USER = 10


@dataclass(frozen=True)
class CreatedWebhook:
    """A new endpoint and its signing secret in clear, for the one answer that shows it."""

    endpoint: WebhookEndpoint
    secret: str

    def __repr__(self) -> str:  # never print a secret
        return f"CreatedWebhook(endpoint_id={self.endpoint.id})"


@dataclass(frozen=True)
class DeliveryPage:
    items: Sequence[WebhookDelivery]
    next_cursor: str | None


def _decode(cursor: str) -> int:
    value = decode_cursor(cursor).get("i")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    raise InvalidCursorError("This cursor is not valid; start again from the first page.")


class WebhookService:
    def create(
        self, session: Session, user: User, *, url: str, description: str | None, events: list[str] | None
    ) -> CreatedWebhook:
        """Register an endpoint: its URL checked, its secret made (stored sealed, answered once)."""
        try:
            checked = validate_webhook_url(url, production=settings.finsync_env is Environment.production)
        except UnsafeWebhookUrlError as exc:
            raise WebhookUrlRefusedError(str(exc)) from None
        # The user's row is locked so that two concurrent creations cannot both pass the count.
        session.execute(select(User.id).where(User.id == user.id).with_for_update())
        count = session.scalar(select(func.count()).where(WebhookEndpoint.user_id == user.id)) or 0
        if count >= MAX_WEBHOOKS_PER_USER:
            raise TooManyWebhooksError(
                f"You already have {MAX_WEBHOOKS_PER_USER} webhooks, the most finsync keeps; delete one first."
            )
        secret = new_signing_secret()
        endpoint = WebhookEndpoint(
            user_id=user.id,
            url=checked,
            description=description,
            events=sorted(set(events), key=events.index) if events is not None else None,
            secret=secret_box(settings).seal(secret),
        )
        session.add(endpoint)
        session.flush()
        session.refresh(endpoint)
        log.info("webhook created", extra={"user_id": str(user.id), "endpoint_id": str(endpoint.id)})
        return CreatedWebhook(endpoint=endpoint, secret=secret)

    def list(self, session: Session, user: User) -> Sequence[WebhookEndpoint]:
        """The user's endpoints, oldest first."""
        return session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == user.id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        ).all()

    def get(self, session: Session, user: User, webhook_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == webhook_id, WebhookEndpoint.user_id == user.id)
        )
        if endpoint is None:
            raise WebhookNotFoundError("There is no such webhook.")
        return endpoint

    def delete(self, session: Session, user: User, webhook_id: uuid.UUID) -> None:
        """Delete an endpoint, with what it still had to receive and its log."""
        endpoint = self.get(session, user, webhook_id)
        # The outbox rows first, then the endpoint: the deliverer locks a row, then (its log's foreign key) the
        # endpoint; deleting in that order waits for a delivery in flight instead of deadlocking with it.
        session.execute(delete(NotificationOutbox).where(NotificationOutbox.endpoint_id == endpoint.id))
        session.delete(endpoint)
        session.flush()
        log.info("webhook deleted", extra={"user_id": str(user.id), "endpoint_id": str(webhook_id)})

    def send_test(self, session: Session, user: User, webhook_id: uuid.UUID) -> uuid.UUID:
        """Queue a `webhook.test` event to this endpoint only; it is delivered like any event."""
        endpoint = self.get(session, user, webhook_id)
        return enqueue_test(session, endpoint)

    def deliveries(
        self, session: Session, user: User, webhook_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> DeliveryPage:
        """The endpoint's delivery attempts, newest first."""
        endpoint = self.get(session, user, webhook_id)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        if cursor is not None:
            query = query.where(WebhookDelivery.id < _decode(cursor))
        rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).all()
        next_cursor = encode_cursor({"i": rows[limit - 1].id}) if len(rows) > limit else None
        return DeliveryPage(items=rows[:limit], next_cursor=next_cursor)


webhook = WebhookService()
