"""The `deliver_notifications` sensor: on by default, every ~15 s, and an evaluation delivers what is due through
the `postgres_database` resource (evaluated in-process: no live Dagster)."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from src import clock
from src.notifications import EventType
from src.orchestration.notifications import NOTIFICATION_SENSORS, deliver_notifications
from src.orchestration.resources import RESOURCES, PostgresDatabase
from tests.harness.outbox import OutboxDatabase
from tests.harness.webhooks import Receiver


class TestDeliverNotificationsSensor:
    def test_is_on_by_default_every_fifteen_seconds_and_loads_with_the_resources(self) -> None:
        assert [deliver_notifications] == NOTIFICATION_SENSORS
        assert deliver_notifications.name == "deliver_notifications"
        assert deliver_notifications.default_status is dg.DefaultSensorStatus.RUNNING
        assert deliver_notifications.minimum_interval_seconds == 15
        definitions = dg.Definitions(sensors=NOTIFICATION_SENSORS, resources=RESOURCES)
        assert definitions.resolve_sensor_def("deliver_notifications") is not None

    def test_an_evaluation_delivers_what_is_due(self, pipeline_database: Engine) -> None:
        receiver = Receiver().start()
        try:
            outbox = OutboxDatabase(sessionmaker(bind=pipeline_database, expire_on_commit=False))
            user = outbox.user()
            outbox.endpoint(user, receiver.url())
            due = outbox.enqueue(user, EventType.sync_completed, {"n": 1}, clock.now() - timedelta(seconds=1))

            with dg.build_sensor_context(resources={"postgres_database": PostgresDatabase()}) as context:
                result = deliver_notifications(context)
        finally:
            receiver.stop()
        assert isinstance(result, dg.SkipReason)
        assert result.skip_message is not None
        assert result.skip_message.startswith("delivered 1, to retry 0, given up 0")
        assert receiver.event_ids() == [str(due)]
