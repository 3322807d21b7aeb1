"""GoCardless: extraction and sync assets, the two jobs and the two daily schedules.

The job names, the concurrency tag and the connection runs come from `src.sync_runs`, which the API uses too: a
scheduled sync and a Sync now are the same run of the same job, so the instance's per-connection tag limit keeps
them from overlapping.
"""

import dagster as dg
from sqlalchemy import select

from src.models import Connection
from src.models.connections import currently_active
from src.orchestration.gocardless.config import GROUP, extract_key, sync_key
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS, balance_drift
from src.orchestration.resources import PostgresDatabase
from src.sync_runs import CONNECTION_JOB, FULL_SYNC_JOB, connection_run

CONNECTION_ASSET_KEYS = [
    extract_key("requisitions"),
    extract_key("account_details"),
    extract_key("account_balances"),
    extract_key("transactions"),
    sync_key("connections"),
    sync_key("accounts"),
    sync_key("transactions"),
    sync_key("balances"),
]

BALANCE_DRIFT_OP = balance_drift.node_def.name
"""The drift check's op, which runs with the sync assets and takes the connection like them."""

gocardless_sync_job = dg.define_asset_job(
    FULL_SYNC_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    description="Every GoCardless asset: institutions, then each connection's extraction and sync. Without config, "
    "every connection.",
)

gocardless_connection_sync_job = dg.define_asset_job(
    CONNECTION_JOB,
    selection=dg.AssetSelection.assets(*CONNECTION_ASSET_KEYS),
    executor_def=dg.in_process_executor,
    description="One connection's extraction and sync (what Sync now launches). Every op's config names the "
    "connection; a run without one fails before it touches anything.",
)


@dg.schedule(cron_schedule="0 4 * * *", job=gocardless_connection_sync_job, execution_timezone="UTC")
def gocardless_daily_schedule(
    context: dg.ScheduleEvaluationContext, postgres_database: PostgresDatabase
) -> list[dg.RunRequest]:
    """04:00 UTC: one run per syncable connection (the rule Sync now and Sync all use), built as Sync now builds
    it, so that the tag keeps it from overlapping a Sync now of the same connection."""
    day = context.scheduled_execution_time.date().isoformat()
    with postgres_database.sessions()() as session:
        syncable = session.scalars(
            select(Connection.id).where(currently_active()).order_by(Connection.created_at, Connection.id)
        ).all()
    requests = []
    for connection_id in syncable:
        run = connection_run(str(connection_id))
        requests.append(
            dg.RunRequest(run_key=f"{day}:{connection_id}", job_name=run.job, run_config=run.run_config, tags=run.tags)
        )
    return requests


@dg.schedule(cron_schedule="0 4 * * *", job=gocardless_sync_job, execution_timezone="UTC")
def gocardless_institutions_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """04:00 UTC: the bank lists. A schedule launches one job only, so the global assets have a schedule of their
    own: a run of the full job restricted to the institutions asset (no connection is touched)."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"{day}:institutions", asset_selection=[extract_key("institutions")])


defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    asset_checks=SYNC_CHECKS,
    jobs=[gocardless_sync_job, gocardless_connection_sync_job],
    schedules=[gocardless_daily_schedule, gocardless_institutions_daily_schedule],
)
