"""The sensor that sends notifications: every ~15 seconds it delivers what the outbox holds that is due
(`src.notifications.deliver_due`: webhooks in order per endpoint, e-mails, retries with capped backoff).

It launches no runs: a sensor is Dagster's way to call a function on a schedule of seconds in the daemon, which
every finsync deployment already runs. It is on by default (a fresh instance delivers without a click), and each
tick stops claiming rows after `TICK_BUDGET`, well inside Dagster's sensor timeout; what is left is due at the next
tick. `NOTIFICATION_SENSORS` is what the code location's definitions include.
"""

from datetime import timedelta

import dagster as dg

from src.notifications import deliver_due
from src.orchestration.resources import PostgresDatabase

MINIMUM_INTERVAL_SECONDS = 15
TICK_BUDGET = timedelta(seconds=30)
TICK_LIMIT = 200


@dg.sensor(
    name="deliver_notifications",
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Delivers due webhooks and e-mails from the notification outbox (retries with capped backoff).",
)
def deliver_notifications(context: dg.SensorEvaluationContext, postgres_database: PostgresDatabase) -> dg.SkipReason:
    report = deliver_due(postgres_database.sessions(), limit=TICK_LIMIT, time_budget=TICK_BUDGET)
    summary = f"delivered {report.delivered}, to retry {report.retried}, given up {report.gave_up}" + (
        f", e-mails waiting for SMTP_HOST {report.emails_waiting}" if report.emails_waiting else ""
    )
    if report.attempted:
        context.log.info(f"notifications: {summary}")
    return dg.SkipReason(summary)


NOTIFICATION_SENSORS = [deliver_notifications]
