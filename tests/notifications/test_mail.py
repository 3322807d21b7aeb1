"""E-mail notifications through a real SMTP server (aiosmtpd, as `make dev` runs it): the message a person reads,
kept while the server is unreachable and sent once it answers, and kept unsent (logged) while no server is set."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

import httpx
import pytest

from src.devstack.mailbox import saved_messages, start_mailbox
from src.notifications import EventType, deliver_due
from src.notifications.mail import Mailer
from src.settings import settings
from tests.harness.outbox import OutboxDatabase
from tests.notifications.conftest import Mailbox

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
EXPIRING = {"connection_id": "c-1", "institution_name": "Thistle Bank", "ends_at": "2027-03-01T00:00:00+00:00"}


def _read(mailbox: Mailbox) -> list[EmailMessage]:
    return [
        BytesParser(policy=default, _class=EmailMessage).parsebytes(path.read_bytes())
        for path in saved_messages(mailbox.directory)
    ]


class TestEmail:
    def test_a_consent_notice_reaches_the_smtp_server_in_words_a_person_understands(
        self, outbox_db: OutboxDatabase, mailbox: Mailbox, http: httpx.Client
    ) -> None:
        user = outbox_db.user("person@example.com")
        event_id = outbox_db.enqueue(user, EventType.consent_expiring, EXPIRING, AT)
        report = deliver_due(outbox_db.factory, now=AT, http=http, mailer=mailbox.mailer)
        assert report.event_ids == [event_id]

        (message,) = _read(mailbox)
        assert message["To"] == "person@example.com"
        assert message["X-Envelope-To"] == "person@example.com"
        assert message["From"] == "finsync <finsync@localhost>"
        assert message["Subject"] == "finsync: your consent with Thistle Bank ends on 1 March 2027"
        assert message["Message-ID"] == f"<{event_id}@finsync>"
        text = message.get_content()
        assert "Your consent with Thistle Bank ends on 1 March 2027:" in text
        assert "re-authorise the connection to Thistle Bank" in text
        (row,) = outbox_db.rows()
        assert row.delivered_at == AT

    def test_an_expired_consent_says_it_has_ended(
        self, outbox_db: OutboxDatabase, mailbox: Mailbox, http: httpx.Client
    ) -> None:
        user = outbox_db.user()
        outbox_db.enqueue(user, EventType.consent_expired, EXPIRING, AT)
        deliver_due(outbox_db.factory, now=AT, http=http, mailer=mailbox.mailer)
        (message,) = _read(mailbox)
        assert message["Subject"] == "finsync: your consent with Thistle Bank has ended"
        assert "Your consent with Thistle Bank ended on 1 March 2027" in message.get_content()

    def test_kept_while_the_server_is_unreachable_and_sent_later(
        self, outbox_db: OutboxDatabase, mailbox: Mailbox, http: httpx.Client
    ) -> None:
        user = outbox_db.user("person@example.com")
        event_id = outbox_db.enqueue(user, EventType.consent_expired, EXPIRING, AT)
        port = mailbox.mailer.port
        closed = Mailer(host="127.0.0.1", port=1, sender=mailbox.mailer.sender)

        report = deliver_due(outbox_db.factory, now=AT, http=http, mailer=closed)
        assert (report.delivered, report.retried) == (0, 1)
        (row,) = outbox_db.rows()
        assert row.last_error == "the mail server did not take it (ConnectionRefusedError)"
        assert row.next_attempt_at == AT + timedelta(seconds=10)
        assert saved_messages(mailbox.directory) == []

        report = deliver_due(outbox_db.factory, now=AT + timedelta(seconds=5), http=http, mailer=mailbox.mailer)
        assert report.attempted == 0, "not before its retry time"
        report = deliver_due(outbox_db.factory, now=AT + timedelta(seconds=10), http=http, mailer=mailbox.mailer)
        assert report.event_ids == [event_id]
        assert len(_read(mailbox)) == 1
        assert port == mailbox.mailer.port

    def test_without_an_smtp_host_emails_are_kept_and_logged_not_sent(
        self,
        outbox_db: OutboxDatabase,
        http: httpx.Client,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        monkeypatch.setattr(settings, "smtp_host", None)
        user = outbox_db.user()
        outbox_db.enqueue(user, EventType.consent_expiring, EXPIRING, AT)
        with caplog.at_level("WARNING", logger="src.notifications.delivery"):
            report = deliver_due(outbox_db.factory, now=AT + timedelta(days=10), http=http)
        assert (report.attempted, report.emails_waiting) == (0, 1)
        assert "e-mail notifications not sent: SMTP_HOST is not set" in caplog.text
        (row,) = outbox_db.rows()
        assert (row.attempts, row.delivered_at, row.gave_up_at) == (0, None, None)

        # Once a server is configured (Settings), the kept e-mail goes out.
        directory = tmp_path_factory.mktemp("later") / "mail"
        from tests.harness.sandbox import free_port

        port = free_port()
        server = start_mailbox(directory, port)
        try:
            monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")
            monkeypatch.setattr(settings, "smtp_port", port)
            monkeypatch.setattr(settings, "smtp_tls", "none")
            report = deliver_due(outbox_db.factory, now=AT + timedelta(days=11), http=http)
        finally:
            server.stop()
        assert report.delivered == 1
        assert len(saved_messages(directory)) == 1
