"""Fixtures of the notification tests: a database of the test's own (the deliverer commits one unit of work per
delivery, and concurrent deliverers need connections of their own), a real webhook receiver, and a real SMTP
server (aiosmtpd, as `make dev` runs it)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from src.db.engine import build_engine
from src.devstack.mailbox import start_mailbox
from src.notifications.mail import Mailer
from tests.harness.outbox import OutboxDatabase
from tests.harness.sandbox import free_port
from tests.harness.webhooks import Receiver


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
