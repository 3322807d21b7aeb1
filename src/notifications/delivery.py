"""Sending what the outbox holds: `deliver_due`, run every few seconds by the Dagster sensor
(`src/orchestration/notifications.py`).

Rules:
- **One row at a time, one unit of work each.** A row is claimed with `FOR UPDATE SKIP LOCKED` and stays locked
  while it is sent; the attempt's outcome (and its delivery-log line) is committed with it. Two deliverers never
  send one row twice (the second skips the locked row), and a deliverer that dies mid-send leaves the row due, so
  it is sent again later with the same event id: receivers de-duplicate on `Finsync-Event-Id`.
- **In order per endpoint.** An endpoint's row is claimed only when no earlier row of that endpoint is still
  pending (neither delivered nor given up): a later event waits while an earlier one is retried. E-mails have no
  order.
- **Outcome.** A 2xx answer is delivered. Anything else (another status, a redirect, no connection, a timeout, an
  SMTP error, a URL that now resolves to a private address in production) is retried after a backoff that starts at
  `FIRST_RETRY` and doubles up to `MAX_RETRY` (10 s, 20 s, … at most 5 min), until `GIVE_UP_AFTER` (3 days) after
  the event: then the row is given up (`gave_up_at`, with its last error) and the endpoint's next event goes.
- **No SMTP host.** E-mail rows are not touched: they wait, and each run logs how many are waiting.
- **Time.** `now` (default: `src.clock.now()`) is the time of every decision, so tests drive retries without sleeping.
"""

import json
import logging
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from src import clock
from src.db.encryption import UndecryptableSecretError, secret_box
from src.db.unit_of_work import unit_of_work
from src.models.notifications import (
    NotificationChannel,
    NotificationOutbox,
    WebhookDelivery,
    WebhookEndpoint,
)
from src.notifications.mail import Mailer, compose
from src.notifications.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header
from src.notifications.urls import DeliveryTarget, UnsafeWebhookUrlError, delivery_target
from src.settings import Environment, settings

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(days=3)
DELIVERY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "finsync-webhooks/1"
_ERROR_LENGTH = 300


class _FromSettings(StrEnum):
    mailer = "from settings"


FROM_SETTINGS = _FromSettings.mailer
"""`deliver_due(mailer=…)`'s default: the mailer Settings describe (none without SMTP_HOST)."""


class Outcome(StrEnum):
    delivered = "delivered"
    retry = "retry"
    gave_up = "gave_up"


@dataclass
class DeliveryReport:
    """What one `deliver_due` did."""

    delivered: int = 0
    retried: int = 0
    gave_up: int = 0
    emails_waiting: int = 0  # e-mail rows kept because no SMTP host is configured
    event_ids: list[uuid.UUID] = field(default_factory=list)  # of the rows delivered, in delivery order

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.gave_up


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a row is tried again: 10 s doubling, at most 5 min."""
    delay: timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 16))
    return min(delay, MAX_RETRY)


def _claim(session: Session, now: datetime, channels: list[NotificationChannel]) -> NotificationOutbox | None:
    """The next due row no other deliverer holds whose endpoint has no earlier pending row, locked."""
    earlier = aliased(NotificationOutbox)
    blocked = exists().where(
        earlier.endpoint_id == NotificationOutbox.endpoint_id,
        earlier.id < NotificationOutbox.id,
        earlier.delivered_at.is_(None),
        earlier.gave_up_at.is_(None),
    )
    return session.scalars(
        select(NotificationOutbox)
        .where(
            NotificationOutbox.delivered_at.is_(None),
            NotificationOutbox.gave_up_at.is_(None),
            NotificationOutbox.next_attempt_at <= now,
            NotificationOutbox.channel.in_(channels),
            ~blocked,
        )
        .order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id)
        .limit(1)
        .with_for_update(of=NotificationOutbox, skip_locked=True)
    ).first()


def _context(row: NotificationOutbox) -> dict[str, str]:
    context = {
        "user_id": str(row.user_id),
        "event_id": str(row.event_id),
        "event_type": row.event_type.value,
        "channel": row.channel.value,
    }
    if row.endpoint_id is not None:
        context["endpoint_id"] = str(row.endpoint_id)
    return context


def _failed(row: NotificationOutbox, now: datetime, error: str) -> Outcome:
    row.attempts += 1
    row.last_error = error[:_ERROR_LENGTH]
    if now - row.created_at >= GIVE_UP_AFTER:
        row.gave_up_at = now
        log.warning("notification given up", extra={**_context(row), "attempts": row.attempts, "error": error})
        return Outcome.gave_up
    row.next_attempt_at = now + backoff(row.attempts)
    log.info(
        "notification attempt failed",
        extra={**_context(row), "attempts": row.attempts, "error": error, "retry_at": row.next_attempt_at.isoformat()},
    )
    return Outcome.retry


def _delivered(row: NotificationOutbox, now: datetime) -> Outcome:
    row.attempts += 1
    row.delivered_at = now
    row.last_error = None
    log.info("notification delivered", extra={**_context(row), "attempts": row.attempts})
    return Outcome.delivered


def _post(
    session: Session,
    row: NotificationOutbox,
    endpoint: WebhookEndpoint,
    target: DeliveryTarget,
    secret: str,
    http: httpx.Client,
    now: datetime,
) -> Outcome:
    body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        **target.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret, body, now),
        EVENT_ID_HEADER: str(row.event_id),
        EVENT_TYPE_HEADER: row.event_type.value,
    }
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        # Streamed and never read: only the status counts, and a receiver cannot make finsync hold a large answer.
        with http.stream(
            "POST",
            target.url,
            content=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT,
            follow_redirects=False,
            extensions=target.extensions,
        ) as response:
            status = response.status_code
        if not 200 <= status < 300:
            error = f"the endpoint answered {status}"
    except httpx.TimeoutException:
        error = "no answer in time"
    except httpx.ConnectError as exc:
        error = f"could not connect ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"no usable answer ({type(exc).__name__})"
    except Exception as exc:  # one row's odd failure must not stop the outbox: it is retried like any failure
        error = f"could not send ({type(exc).__name__})"
        log.warning("webhook send failed unexpectedly", extra={**_context(row), "error": type(exc).__name__})
    duration_ms = int((time.monotonic() - started) * 1000)
    session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            outbox_id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            attempted_at=now,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
        )
    )
    return _delivered(row, now) if error is None else _failed(row, now, error)


def _deliver_webhook(session: Session, row: NotificationOutbox, http: httpx.Client, now: datetime) -> Outcome:
    endpoint = session.get(WebhookEndpoint, row.endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        row.attempts += 1
        row.gave_up_at = now
        row.last_error = "the endpoint is disabled"
        return Outcome.gave_up
    try:
        target = delivery_target(endpoint.url, production=settings.finsync_env is Environment.production)
    except UnsafeWebhookUrlError as exc:
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                outbox_id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                attempted_at=now,
                error=f"not sent: {exc}"[:_ERROR_LENGTH],
                duration_ms=0,
            )
        )
        return _failed(row, now, f"not sent: {exc}")
    try:
        secret = secret_box(settings).open(endpoint.secret).value
    except UndecryptableSecretError:
        return _failed(row, now, "the signing secret cannot be decrypted with FINSYNC_SECRET_KEY")
    return _post(session, row, endpoint, target, secret, http, now)


def _deliver_email(row: NotificationOutbox, mailer: Mailer, now: datetime) -> Outcome:
    if row.recipient is None:  # the table's CHECK makes this impossible; a row without address cannot be sent
        row.gave_up_at = now
        return Outcome.gave_up
    try:
        mailer.send(compose(row.payload, recipient=row.recipient, sender=mailer.sender))
    except (smtplib.SMTPException, OSError) as exc:
        return _failed(row, now, f"the mail server did not take it ({type(exc).__name__})")
    except Exception as exc:  # one row's odd failure must not stop the outbox: it is retried like any failure
        log.warning("e-mail send failed unexpectedly", extra={**_context(row), "error": type(exc).__name__})
        return _failed(row, now, f"could not send ({type(exc).__name__})")
    return _delivered(row, now)


def _emails_waiting(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    and_(
                        NotificationOutbox.channel == NotificationChannel.email,
                        NotificationOutbox.delivered_at.is_(None),
                        NotificationOutbox.gave_up_at.is_(None),
                    )
                )
            )
            or 0
        )


def deliver_due(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
    limit: int = 100,
    mailer: Mailer | _FromSettings | None = FROM_SETTINGS,
    time_budget: timedelta | None = None,
) -> DeliveryReport:
    """Deliver up to `limit` due rows (see the module's rules), each in its own unit of work of `factory`'s.

    `now`: the time of every decision (default: the clock, read at each row). `http`: the client webhooks are
    POSTed with (default: one made and closed here). `mailer`: where e-mails go (default: Settings; None keeps them).
    `time_budget`: stop claiming rows once this much time has passed (the sensor's tick must end in time)."""
    sender = Mailer.from_settings(settings) if mailer is FROM_SETTINGS else mailer
    assert not isinstance(sender, _FromSettings)
    channels = [NotificationChannel.webhook] + ([NotificationChannel.email] if sender is not None else [])
    client = http if http is not None else httpx.Client(timeout=DELIVERY_TIMEOUT, follow_redirects=False)
    report = DeliveryReport()
    started = time.monotonic()
    try:
        for _ in range(limit):
            if time_budget is not None and time.monotonic() - started >= time_budget.total_seconds():
                break
            current = now if now is not None else clock.now()
            with unit_of_work(factory) as session:
                row = _claim(session, current, channels)
                if row is None:
                    break
                if row.channel is NotificationChannel.webhook:
                    outcome = _deliver_webhook(session, row, client, current)
                else:
                    assert sender is not None
                    outcome = _deliver_email(row, sender, current)
                event_id = row.event_id
            if outcome is Outcome.delivered:
                report.delivered += 1
                report.event_ids.append(event_id)
            elif outcome is Outcome.retry:
                report.retried += 1
            else:
                report.gave_up += 1
    finally:
        if http is None:
            client.close()
    if sender is None:
        report.emails_waiting = _emails_waiting(factory)
        if report.emails_waiting:
            log.warning("e-mail notifications not sent: SMTP_HOST is not set", extra={"waiting": report.emails_waiting})
    return report
