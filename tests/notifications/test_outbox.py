"""`enqueue`: the transactional outbox, written in the caller's transaction (never committed by itself)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from src.models import NotificationOutbox, WebhookEndpoint
from src.models.notifications import SUBSCRIBABLE_EVENTS, NotificationChannel
from src.notifications import EventType, enqueue
from src.webhooks.schemas import WebhookEvent
from tests.factories import create_user
from tests.harness.outbox import OutboxDatabase

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _endpoint(session: Session, user_id: uuid.UUID, url: str, **values: object) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(user_id=user_id, url=url, secret="fernet:not-used-here", **values)
    session.add(endpoint)
    session.flush()
    return endpoint


def _rows(session: Session, event_id: uuid.UUID) -> list[NotificationOutbox]:
    return list(
        session.scalars(
            select(NotificationOutbox).where(NotificationOutbox.event_id == event_id).order_by(NotificationOutbox.id)
        )
    )


class TestEnqueue:
    def test_one_row_per_subscribed_enabled_endpoint_with_the_whole_body(self, db_session: Session) -> None:
        user = create_user(db_session)
        every = _endpoint(db_session, user.id, "http://127.0.0.1:9/every")
        subscribed = _endpoint(db_session, user.id, "http://127.0.0.1:9/s", events=["sync.completed"])
        _endpoint(db_session, user.id, "http://127.0.0.1:9/other", events=["sync.failed"])
        _endpoint(db_session, user.id, "http://127.0.0.1:9/off", disabled_at=AT)
        _endpoint(db_session, create_user(db_session).id, "http://127.0.0.1:9/someone-else")

        data = {"connection_id": uuid.UUID(int=1), "amount": Decimal("12.50"), "at": AT}
        event_id = enqueue(db_session, user_id=user.id, event_type=EventType.sync_completed, data=data, occurred_at=AT)

        rows = _rows(db_session, event_id)
        assert {row.endpoint_id for row in rows} == {every.id, subscribed.id}
        assert len(rows) == 2
        body = {
            "id": str(event_id),
            "type": "sync.completed",
            "created_at": "2026-12-01T08:00:00Z",
            "data": {
                "connection_id": "00000000-0000-0000-0000-000000000001",
                "amount": "12.50",
                "at": "2026-12-01T08:00:00+00:00",
            },
        }
        for row in rows:
            assert row.payload == body
            assert (row.channel, row.user_id, row.recipient) == (NotificationChannel.webhook, user.id, None)
            assert (row.created_at, row.next_attempt_at, row.attempts) == (AT, AT, 0)
            assert row.delivered_at is None

    def test_consent_events_also_go_by_email_to_the_users_address(self, db_session: Session) -> None:
        user = create_user(db_session, email="person@example.com")
        _endpoint(db_session, user.id, "http://127.0.0.1:9/hook")
        for event_type in (EventType.consent_expiring, EventType.consent_expired):
            event_id = enqueue(db_session, user_id=user.id, event_type=event_type, data={}, occurred_at=AT)
            rows = _rows(db_session, event_id)
            assert [(row.channel, row.recipient) for row in rows] == [
                (NotificationChannel.webhook, None),
                (NotificationChannel.email, "person@example.com"),
            ]
            assert rows[0].payload == rows[1].payload, "one event, one body, one id"

    @pytest.mark.parametrize(
        "event_type", [EventType.sync_completed, EventType.sync_failed, EventType.connection_rate_limited]
    )
    def test_other_events_are_not_emailed(self, db_session: Session, event_type: EventType) -> None:
        user = create_user(db_session)
        event_id = enqueue(db_session, user_id=user.id, event_type=event_type, data={}, occurred_at=AT)
        assert _rows(db_session, event_id) == []

    def test_a_naive_time_is_refused(self, db_session: Session) -> None:
        user = create_user(db_session)
        with pytest.raises(ValueError, match="aware"):
            enqueue(
                db_session,
                user_id=user.id,
                event_type=EventType.sync_completed,
                data={},
                occurred_at=datetime(2026, 12, 1, 8, 0),
            )

    def test_nothing_is_announced_when_the_callers_transaction_rolls_back(self, outbox_db: OutboxDatabase) -> None:
        user = outbox_db.user()
        outbox_db.endpoint(user, "http://127.0.0.1:9/hook")
        with outbox_db.factory() as session:
            enqueue(session, user_id=user, event_type=EventType.sync_failed, data={}, occurred_at=AT)
            session.rollback()
        assert outbox_db.rows() == []
        committed = outbox_db.enqueue(user, EventType.sync_failed, {}, AT)
        assert [row.event_id for row in outbox_db.rows()] == [committed]


def test_the_api_offers_exactly_the_subscribable_events() -> None:
    assert set(WebhookEvent.__args__) == {event.value for event in SUBSCRIBABLE_EVENTS}  # type: ignore[attr-defined]
    assert EventType.webhook_test not in SUBSCRIBABLE_EVENTS
