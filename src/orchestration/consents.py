"""The sensor that keeps consents from lapsing unnoticed: every ten minutes it announces each consent's end that is
due (`announce_consents`: `consent.expiring` within EXPIRING_SOON_DAYS and again three days before, `consent.expired`
the day it ends, each once) and ends at their provider the consents nobody will use (`clean_up_consents`: abandoned
or refused connects, requisitions and sessions a re-authorisation replaced).

A sensor, not an hourly schedule: it launches no runs (a schedule must launch a job run each hour, an hour's runs in
the run history that sync nothing), the daemon every deployment runs already evaluates it, and it is on by default
(`DefaultSensorStatus.RUNNING`: a fresh instance announces without a click in the Dagster UI). Ten minutes keep an
expiry's announcement within minutes of it at the cost of two cheap queries per tick; the provider calls of the
clean-up stop after `CLEAN_UP_BUDGET`, well inside Dagster's sensor timeout, and what is left waits for the next
tick. `CONSENT_SENSORS` is what the code location's definitions include.
"""

from datetime import timedelta

import dagster as dg

from src import clock
from src.ingest.consents import announce_consents, clean_up_consents
from src.orchestration.resources import EnableBankingResource, GoCardlessResource, PostgresDatabase
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless.seam import GoCardlessProvider

MINIMUM_INTERVAL_SECONDS = 600
CLEAN_UP_BUDGET = timedelta(seconds=30)


@dg.sensor(
    name="consent_lifecycle",
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Announces consents that expire soon or have expired (webhooks and e-mail, each once) and ends stale "
        "consents at GoCardless and Enable Banking (abandoned or refused connects, those a re-authorisation replaced)."
    ),
)
def consent_lifecycle(
    context: dg.SensorEvaluationContext,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
    enablebanking_api: EnableBankingResource,
) -> dg.SkipReason:
    now = clock.now()
    factory = postgres_database.sessions()
    announced = announce_consents(factory, now=now)
    cleaned = clean_up_consents(
        factory,
        gocardless=GoCardlessProvider(gocardless_api.client),
        enablebanking=EnableBankingProvider(enablebanking_api.client),
        now=now,
        time_budget=CLEAN_UP_BUDGET,
    )
    summary = (
        f"announced {len(announced)}, requisitions deleted {len(cleaned.requisitions_deleted)}, "
        f"sessions ended {len(cleaned.sessions_ended)}, connects given up {len(cleaned.connections_abandoned)}, "
        f"failed {len(cleaned.failed)}"
    )
    if announced or cleaned.requisitions_deleted or cleaned.sessions_ended or cleaned.failed:
        context.log.info(f"consents: {summary}")
    return dg.SkipReason(summary)


CONSENT_SENSORS = [consent_lifecycle]
