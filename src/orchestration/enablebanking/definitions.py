"""Enable Banking: extraction and sync assets, the two jobs and the daily schedules.

Job names and the connection runs come from `src.sync_runs`, like GoCardless's: a scheduled sync and a Sync now
are the same run of the same job, tagged with the connection, so they never overlap.
"""

import dagster as dg
from sqlalchemy import select

from src.models import Connection
from src.models.connections import currently_active
from src.orchestration.enablebanking.config import GROUP, PROVIDER, extract_key
from src.orchestration.enablebanking.extraction import EXTRACTION_ASSETS
from src.orchestration.enablebanking.sync import SYNC_ASSETS
from src.orchestration.resources import PostgresDatabase
from src.sync_runs import ENABLEBANKING_CONNECTION_JOB, ENABLEBANKING_FULL_SYNC_JOB, connection_run

CONNECTION_ASSET_KEYS = [
    asset.key for asset in [*EXTRACTION_ASSETS, *SYNC_ASSETS] if asset.key != extract_key("institutions")
]

enablebanking_sync_job = dg.define_asset_job(
    ENABLEBANKING_FULL_SYNC_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    description="Every Enable Banking asset: the bank lists, then each connection's extraction and sync. Without "
    "config, every Enable Banking connection.",
)

enablebanking_connection_sync_job = dg.define_asset_job(
    ENABLEBANKING_CONNECTION_JOB,
    selection=dg.AssetSelection.assets(*CONNECTION_ASSET_KEYS),
    executor_def=dg.in_process_executor,
    description="One Enable Banking connection's extraction and sync (what Sync now launches). Every op's config "
    "names the connection; a run without one fails before it touches anything.",
)


@dg.schedule(cron_schedule="15 4 * * *", job=enablebanking_connection_sync_job, execution_timezone="UTC")
def enablebanking_daily_schedule(
    context: dg.ScheduleEvaluationContext, postgres_database: PostgresDatabase
) -> list[dg.RunRequest]:
    """04:15 UTC: one unattended run per syncable Enable Banking connection, built as Sync now builds it (without
    the person: no PSU headers)."""
    day = context.scheduled_execution_time.date().isoformat()
    with postgres_database.sessions()() as session:
        syncable = session.scalars(
            select(Connection.id)
            .where(currently_active(), Connection.provider == PROVIDER)
            .order_by(Connection.created_at, Connection.id)
        ).all()
    requests = []
    for connection_id in syncable:
        run = connection_run(str(connection_id), PROVIDER)
        requests.append(
            dg.RunRequest(run_key=f"{day}:{connection_id}", job_name=run.job, run_config=run.run_config, tags=run.tags)
        )
    return requests


@dg.schedule(cron_schedule="15 4 * * *", job=enablebanking_sync_job, execution_timezone="UTC")
def enablebanking_institutions_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """04:15 UTC: the Enable Banking bank lists (no connection is touched)."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"{day}:institutions", asset_selection=[extract_key("institutions")])


defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    jobs=[enablebanking_sync_job, enablebanking_connection_sync_job],
    schedules=[enablebanking_daily_schedule, enablebanking_institutions_daily_schedule],
)
