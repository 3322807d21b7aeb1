"""The webhooks service against committed data: deleting an endpoint while a delivery to it is in flight waits for
that delivery instead of deadlocking with it, and leaves nothing of the endpoint behind."""

import threading
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from src.db.engine import build_engine
from src.db.unit_of_work import unit_of_work
from src.models import NotificationOutbox, User, WebhookDelivery, WebhookEndpoint
from src.notifications import EventType, deliver_due
from src.webhooks.service import webhook as webhook_service
from tests.harness.outbox import OutboxDatabase
from tests.harness.webhooks import Receiver

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class TestDelete:
    def test_waits_for_a_delivery_in_flight_and_leaves_nothing_behind(self, isolated_database_url: str) -> None:
        engine = build_engine(isolated_database_url, pool_size=2, max_overflow=2)
        outbox_db = OutboxDatabase(sessionmaker(bind=engine, expire_on_commit=False))
        receiver = Receiver(delay=1.0).start()
        try:
            user_id = outbox_db.user()
            endpoint_id, _ = outbox_db.endpoint(user_id, receiver.url())
            for n in range(3):
                outbox_db.enqueue(user_id, EventType.sync_completed, {"n": n}, AT)
            errors: list[BaseException] = []

            def deliver() -> None:
                try:
                    with httpx.Client() as client:
                        deliver_due(outbox_db.factory, now=AT, http=client, mailer=None)
                except BaseException as exc:
                    errors.append(exc)

            deliverer = threading.Thread(target=deliver)
            deliverer.start()
            while not receiver.received and receiver.refused == 0 and deliverer.is_alive():
                time.sleep(0.01)  # the first delivery is being answered (the receiver holds it for a second)
            with unit_of_work(outbox_db.factory) as session:
                user = session.get(User, user_id)
                assert user is not None
                webhook_service.delete(session, user, endpoint_id)
            deliverer.join(timeout=30)
        finally:
            receiver.stop()
            engine.dispose()
        assert not errors
        assert len(receiver.received) >= 1
        engine = build_engine(isolated_database_url, pool_size=1, max_overflow=0)
        with sessionmaker(bind=engine)() as session:
            for model in (WebhookEndpoint, NotificationOutbox, WebhookDelivery):
                assert session.scalar(select(func.count()).select_from(model)) == 0, model
        engine.dispose()
