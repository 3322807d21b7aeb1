"""The deliverer against a real receiver on loopback: signed, in order per endpoint, exactly once per event id,
retried with capped backoff while the receiver is down, surviving a restart, and safe with two deliverers at once.
Time is driven through `now`, never slept through."""

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from src.db.engine import build_engine
from src.models import WebhookDelivery
from src.notifications import EventType, deliver_due, verify_signature
from src.notifications.delivery import FIRST_RETRY, GIVE_UP_AFTER, MAX_RETRY, backoff
from src.settings import Environment, settings
from tests.harness.outbox import OutboxDatabase
from tests.harness.webhooks import Receiver

SYNCED = EventType.sync_completed
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _deliver(outbox_db: OutboxDatabase, http: httpx.Client, now: datetime) -> int:
    return deliver_due(outbox_db.factory, now=now, http=http, mailer=None).delivered


class TestBackoff:
    def test_doubles_from_ten_seconds_to_at_most_five_minutes(self) -> None:
        assert [backoff(n).total_seconds() for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]
        assert timedelta(days=3) == GIVE_UP_AFTER
        assert backoff(1) == FIRST_RETRY
        assert backoff(50) == MAX_RETRY


class TestDelivery:
    def test_a_delivery_is_signed_as_documented_and_logged(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        user = outbox_db.user()
        endpoint_id, secret = outbox_db.endpoint(user, receiver.url())
        event_id = outbox_db.enqueue(user, SYNCED, {"connection_id": "c-1", "new_transactions": 3}, T0)

        assert _deliver(outbox_db, http, T0) == 1

        (got,) = receiver.received
        assert got.event_id == str(event_id)
        assert got.headers["finsync-event-type"] == "sync.completed"
        assert got.headers["content-type"] == "application/json"
        assert got.json == {
            "id": str(event_id),
            "type": "sync.completed",
            "created_at": "2026-12-01T08:00:00Z",
            "data": {"connection_id": "c-1", "new_transactions": 3},
        }
        header = got.headers["finsync-signature"]
        assert header.startswith(f"t={int(T0.timestamp())},v1=")
        assert verify_signature(secret, header, got.body, now=T0.timestamp())
        assert not verify_signature(secret, header, got.body.replace(b"3", b"4"), now=T0.timestamp())
        assert not verify_signature("whsec_other", header, got.body, now=T0.timestamp())
        (row,) = outbox_db.rows()
        assert (row.delivered_at, row.attempts, row.last_error) == (T0, 1, None)
        with outbox_db.factory() as session:
            (log,) = session.scalars(select(WebhookDelivery)).all()
        assert (log.endpoint_id, log.event_id, log.status_code, log.error) == (endpoint_id, event_id, 204, None)
        assert log.attempted_at == T0
        assert _deliver(outbox_db, http, T0 + timedelta(hours=1)) == 0, "a delivered row is never sent again"

    def test_only_subscribed_enabled_endpoints_of_the_user_receive(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        user, other = outbox_db.user(), outbox_db.user()
        outbox_db.endpoint(user, receiver.url("/all"))
        outbox_db.endpoint(user, receiver.url("/failures"), events=["sync.failed"])
        outbox_db.endpoint(other, receiver.url("/other"))
        outbox_db.enqueue(user, SYNCED, {}, T0)
        outbox_db.enqueue(user, EventType.sync_failed, {"message": "the bank did not answer"}, T0)
        _deliver(outbox_db, http, T0)
        assert sorted((item.path, item.json["type"]) for item in receiver.received) == [
            ("/all", "sync.completed"),
            ("/all", "sync.failed"),
            ("/failures", "sync.failed"),
        ]

    def test_a_redirect_is_not_followed_and_counts_as_a_failure(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        """Following it would send the body where the URL checks never looked."""
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        outbox_db.enqueue(user, SYNCED, {}, T0)
        receiver.status = 307
        report = deliver_due(outbox_db.factory, now=T0, http=http, mailer=None)
        assert (report.delivered, report.retried) == (0, 1)
        assert [item.path for item in receiver.received] == ["/hook"]
        (row,) = outbox_db.rows()
        assert row.last_error == "the endpoint answered 307"


class TestReceiverDown:
    def test_a_receiver_down_for_five_minutes_gets_every_event_afterwards_in_order_exactly_once(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        """Done-when of issue 14: the receiver answers 503 for five minutes while events keep coming (one every
        30 s); the deliverer runs every 10 s of simulated time, and once the receiver is back every event arrives,
        in the order it happened, each event id once."""
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        receiver.down = True
        sent: list[str] = []
        for second in range(0, 15 * 60 + 1, 10):
            now = T0 + timedelta(seconds=second)
            if second == 5 * 60:
                receiver.down = False
            if second < 5 * 60 and second % 30 == 0:
                sent.append(str(outbox_db.enqueue(user, SYNCED, {"n": len(sent)}, now)))
            _deliver(outbox_db, http, now)

        assert len(sent) == 10
        assert receiver.refused > 0, "the receiver was really tried while it was down"
        assert receiver.event_ids() == sent
        assert [item.json["data"]["n"] for item in receiver.received] == list(range(10))
        rows = outbox_db.rows()
        assert all(row.delivered_at is not None for row in rows)
        # Every row waited behind the first, and the first retried with backoff capped at five minutes.
        first = rows[0]
        assert first.delivered_at is not None
        assert first.attempts > 2
        assert first.delivered_at - T0 <= timedelta(minutes=5) + MAX_RETRY

    def test_a_later_event_waits_while_an_earlier_one_is_retried(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        receiver.down = True
        first = outbox_db.enqueue(user, SYNCED, {"n": 1}, T0)
        _deliver(outbox_db, http, T0)  # fails: retried at T0 + 10 s
        receiver.down = False
        second = outbox_db.enqueue(user, SYNCED, {"n": 2}, T0 + timedelta(seconds=1))
        assert _deliver(outbox_db, http, T0 + timedelta(seconds=2)) == 0, "the second must not overtake the first"
        assert receiver.received == []
        assert _deliver(outbox_db, http, T0 + timedelta(seconds=10)) == 2
        assert receiver.event_ids() == [str(first), str(second)]

    def test_after_three_days_an_event_is_given_up_and_the_next_goes(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client
    ) -> None:
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        receiver.stop()  # nothing listens: every attempt is a connection error
        lost = outbox_db.enqueue(user, SYNCED, {"n": 1}, T0)
        report = deliver_due(outbox_db.factory, now=T0, http=http, mailer=None)
        assert (report.retried, report.gave_up) == (1, 0)
        waiting = outbox_db.enqueue(user, SYNCED, {"n": 2}, T0 + timedelta(days=2))
        receiver.start()
        receiver.down = True
        report = deliver_due(outbox_db.factory, now=T0 + GIVE_UP_AFTER, http=http, mailer=None)
        assert (report.gave_up, report.retried) == (1, 1), "the first is given up, the second is tried at once"
        receiver.down = False
        report = deliver_due(outbox_db.factory, now=T0 + GIVE_UP_AFTER + FIRST_RETRY, http=http, mailer=None)
        assert report.event_ids == [waiting]
        given_up, delivered = outbox_db.rows()
        assert given_up.event_id == lost
        assert given_up.gave_up_at == T0 + GIVE_UP_AFTER
        assert given_up.last_error == "the endpoint answered 503"
        assert given_up.delivered_at is None
        assert delivered.delivered_at is not None
        with outbox_db.factory() as session:
            errors = [row.error for row in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
        assert errors == [
            "could not connect (ConnectError)",
            "the endpoint answered 503",
            "the endpoint answered 503",
            None,
        ]


class TestDurability:
    def test_rows_left_due_are_delivered_by_a_new_deliverer_on_a_new_engine(
        self, outbox_db: OutboxDatabase, isolated_database_url: str, receiver: Receiver, http: httpx.Client
    ) -> None:
        """A deliverer whose process ends with rows still due (the receiver was unreachable): a new process, with
        an engine of its own, delivers them."""
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        receiver.stop()
        events = [str(outbox_db.enqueue(user, SYNCED, {"n": n}, T0)) for n in range(3)]
        assert _deliver(outbox_db, http, T0) == 0
        outbox_db.factory.kw["bind"].dispose()  # the first process is gone

        receiver.start()
        engine = build_engine(isolated_database_url, pool_size=1, max_overflow=0)
        try:
            from sqlalchemy.orm import sessionmaker

            report = deliver_due(sessionmaker(bind=engine), now=T0 + timedelta(minutes=1), mailer=None)
        finally:
            engine.dispose()
        assert report.delivered == 3
        assert receiver.event_ids() == events

    def test_two_deliverers_at_once_never_send_a_row_twice(self, outbox_db: OutboxDatabase, receiver: Receiver) -> None:
        user = outbox_db.user()
        paths = ["/a", "/b", "/c"]
        for path in paths:
            outbox_db.endpoint(user, receiver.url(path))
        events = [str(outbox_db.enqueue(user, SYNCED, {"n": n}, T0)) for n in range(8)]
        receiver.delay = 0.02  # each answer takes a moment, so the two deliverers overlap
        start = threading.Barrier(2)
        reports = []

        def run() -> None:
            with httpx.Client() as client:
                start.wait()
                reports.append(deliver_due(outbox_db.factory, now=T0, http=client, mailer=None))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sum(report.delivered for report in reports) == 24
        assert all(report.delivered > 0 for report in reports), "both deliverers took part"
        for path in paths:
            assert receiver.event_ids(path) == events, path  # each once, in order
        assert len(receiver.received) == 24


class TestDeliveryTimeUrlCheck:
    def test_in_production_a_url_now_resolving_to_a_private_address_is_not_called(
        self, outbox_db: OutboxDatabase, receiver: Receiver, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Registered when it was acceptable; the name now points inside (DNS rebinding): nothing is sent, the
        log says why, and the row is retried (the name may be fixed)."""
        user = outbox_db.user()
        outbox_db.endpoint(user, receiver.url())
        outbox_db.enqueue(user, SYNCED, {}, T0)
        monkeypatch.setattr(settings, "finsync_env", Environment.production)
        report = deliver_due(outbox_db.factory, now=T0, http=http, mailer=None)
        assert (report.delivered, report.retried) == (0, 1)
        assert receiver.received == []
        (row,) = outbox_db.rows()
        assert row.last_error is not None
        assert row.last_error.startswith("not sent: Webhook URLs must start with https://")
