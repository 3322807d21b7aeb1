"""Fixtures of the notification tests: a database of the test's own (the deliverer commits one unit of work per
delivery, and concurrent deliverers need connections of their own), a real webhook receiver, and a real SMTP
server (aiosmtpd, as `make dev` runs it)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from src.db.encryption import secret_box
from src.db.engine import build_engine
from src.db.unit_of_work import unit_of_work
from src.devstack.mailbox import start_mailbox
from src.models import NotificationOutbox, WebhookEndpoint
from src.notifications import EventType, enqueue, new_signing_secret
from src.notifications.mail import Mailer
from src.settings import settings
from tests.factories import create_user
from tests.harness.sandbox import free_port
from tests.harness.webhooks import Receiver


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


@pytest.fixture
def outbox_db(isolated_database_url: str) -> Iterator[OutboxDatabase]:
    engine = build_engine(isolated_database_url, pool_size=4, max_overflow=4)
    try:
        yield OutboxDatabase(sessionmaker(bind=engine, expire_on_commit=False))
    finally:
        engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@dataclass
class Mailbox:
    directory: Path
    mailer: Mailer


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    """A real SMTP server on loopback saving each message under `directory`, and the mailer that reaches it."""
    port = free_port()
    directory = tmp_path / "mail"
    server = start_mailbox(directory, port)
    try:
        yield Mailbox(directory, Mailer(host="127.0.0.1", port=port, sender="finsync <finsync@localhost>"))
    finally:
        server.stop()
