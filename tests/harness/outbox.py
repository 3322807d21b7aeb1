"""A notification test's database of its own, with helpers that commit what a test arranges (the deliverer commits
one unit of work per delivery, and concurrent deliverers need connections of their own)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from src.db.encryption import secret_box
from src.db.unit_of_work import unit_of_work
from src.models import NotificationOutbox, WebhookEndpoint
from src.notifications import EventType, enqueue, new_signing_secret
from src.settings import settings
from tests.factories import create_user


@dataclass
class OutboxDatabase:
    """A migrated database of the test's own, and helpers that commit what a test arranges."""

    factory: sessionmaker[Session]

    def user(self, email: str | None = None) -> uuid.UUID:
        with unit_of_work(self.factory) as session:
            return create_user(session, email=email).id

    def endpoint(self, user_id: uuid.UUID, url: str, *, events: list[str] | None = None) -> tuple[uuid.UUID, str]:
        """A webhook endpoint of `user_id`'s, and its signing secret in clear."""
        secret = new_signing_secret()
        with unit_of_work(self.factory) as session:
            endpoint = WebhookEndpoint(
                user_id=user_id, url=url, events=events, secret=secret_box(settings).seal(secret)
            )
            session.add(endpoint)
            session.flush()
            return endpoint.id, secret

    def enqueue(
        self, user_id: uuid.UUID, event_type: EventType, data: dict[str, Any], at: datetime | None = None
    ) -> uuid.UUID:
        """An event announced in a committed transaction of its own, as a caller's unit of work would."""
        with unit_of_work(self.factory) as session:
            return enqueue(session, user_id=user_id, event_type=event_type, data=data, occurred_at=at)

    def rows(self) -> list[NotificationOutbox]:
        with self.factory() as session:
            return list(session.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)))
