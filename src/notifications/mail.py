"""E-mail notifications over SMTP: plain-text messages a person understands, sent through the server Settings name
(`SMTP_HOST`, `SMTP_PORT`, `SMTP_USER`, `SMTP_PASSWORD`, `SMTP_FROM`, `SMTP_TLS`).

Only the consent events are e-mailed (a lapsing consent is what people miss when nobody tells them). Without
`SMTP_HOST` there is no mailer: the outbox keeps the e-mails until one is configured (`deliver_due` logs them as not
sent). Each message's `Message-ID` is derived from the event id, so a message re-sent after a lost answer can be
recognised as the same one.
"""

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Literal

from src.models.notifications import EventType
from src.settings import Settings

SMTP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Mailer:
    """Where and how e-mails are sent. The password is kept out of `repr` (and so out of logs)."""

    host: str
    port: int
    sender: str
    tls: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = SMTP_TIMEOUT_SECONDS

    def __repr__(self) -> str:
        return f"Mailer(host={self.host!r}, port={self.port}, tls={self.tls!r})"

    @classmethod
    def from_settings(cls, config: Settings) -> "Mailer | None":
        """The mailer Settings describe, or None when no SMTP host is set."""
        if config.smtp_host is None:
            return None
        return cls(
            host=config.smtp_host,
            port=config.smtp_port,
            sender=config.smtp_from,
            tls=config.smtp_tls,
            user=config.smtp_user,
            password=config.smtp_password.get_secret_value() if config.smtp_password is not None else None,
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises `smtplib.SMTPException` or `OSError` when the server cannot be reached or refuses
        it (the caller retries later)."""
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.tls == "starttls":
                smtp.starttls(context=context)
            if self.user is not None and self.password is not None:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def _day(value: Any) -> str:
    """A time from an event's data as a day people read (`1 March 2027`), or the text as it came."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return f"{value.day} {value:%B %Y}"
    return "soon"


def _text(event_type: EventType, data: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) for an event; consent events as the person needs them, the others plainly."""
    bank = str(data.get("institution_name") or data.get("bank") or "your bank")
    ends = _day(data.get("ends_at") or data.get("expires_at"))
    if event_type is EventType.consent_expiring:
        return (
            f"finsync: your consent with {bank} ends on {ends}",
            f"Your consent with {bank} ends on {ends}: after that day finsync can no longer read your accounts "
            f"there, and they stop updating.\n\nTo keep them up to date, open finsync and re-authorise the "
            f"connection to {bank} before then. It takes a minute at your bank.\n",
        )
    if event_type is EventType.consent_expired:
        return (
            f"finsync: your consent with {bank} has ended",
            f"Your consent with {bank} ended on {ends}: finsync can no longer read your accounts there, so they "
            f"are no longer updated. What finsync already has stays.\n\nTo start syncing again, open finsync and "
            f"re-authorise the connection to {bank}.\n",
        )
    return (f"finsync: {event_type.value}", f"finsync event {event_type.value}.\n")


def compose(payload: dict[str, Any], *, recipient: str, sender: str) -> EmailMessage:
    """The e-mail for an outbox row's body (`{"id", "type", "created_at", "data"}`)."""
    event_type = EventType(payload["type"])
    subject, body = _text(event_type, payload.get("data") or {})
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{payload['id']}@finsync>"
    message["Finsync-Event-Type"] = event_type.value
    message.set_content(body + "\n-- \nfinsync\n")
    return message
