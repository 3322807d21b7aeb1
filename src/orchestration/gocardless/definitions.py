"""GoCardless: extraction and sync assets, the two jobs and the daily schedule."""

import dagster as dg
from sqlalchemy import select

from src.models import Connection
from src.models.enums import ConnectionStatus
from src.orchestration.gocardless.config import CONNECTION_TAG, extract_key, sync_key
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS
from src.orchestration.resources import PostgresDatabase

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

gocardless_sync_job = dg.define_asset_job(
    "gocardless_sync_job",
    selection=dg.AssetSelection.groups("gocardless"),
    executor_def=dg.in_process_executor,
    description="Every GoCardless asset: institutions, then each connection's extraction and sync.",
)

gocardless_connection_sync_job = dg.define_asset_job(
    "gocardless_connection_sync_job",
    selection=dg.AssetSelection.assets(*CONNECTION_ASSET_KEYS),
    executor_def=dg.in_process_executor,
    description="One connection's extraction and sync (what Sync now launches).",
)


BALANCE_DRIFT_OP = "sync__gocardless__balances_balance_drift"


def connection_run_config(connection_id: str) -> dict[str, object]:
    """The run config that scopes every asset (and the drift check) of the connection job to one connection."""
    op_names = ["__".join(key.path) for key in CONNECTION_ASSET_KEYS] + [BALANCE_DRIFT_OP]
    return {"ops": {name: {"config": {"connection_id": connection_id}} for name in op_names}}


@dg.schedule(cron_schedule="0 4 * * *", job=gocardless_sync_job, execution_timezone="UTC")
def gocardless_daily_schedule(
    context: dg.ScheduleEvaluationContext, postgres_database: PostgresDatabase
) -> list[dg.RunRequest]:
    """04:00 UTC: one run per active connection (tagged, so it never overlaps a Sync now), one for institutions."""
    day = context.scheduled_execution_time.date().isoformat()
    with postgres_database.sessions()() as session:
        active = session.scalars(select(Connection.id).where(Connection.status == ConnectionStatus.active)).all()
    requests = [
        dg.RunRequest(
            run_key=f"{day}:{connection_id}",
            asset_selection=CONNECTION_ASSET_KEYS,
            run_config=connection_run_config(str(connection_id)),
            tags={CONNECTION_TAG: str(connection_id)},
        )
        for connection_id in active
    ]
    requests.append(dg.RunRequest(run_key=f"{day}:institutions", asset_selection=[extract_key("institutions")]))
    return requests


defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    asset_checks=SYNC_CHECKS,
    jobs=[gocardless_sync_job, gocardless_connection_sync_job],
    schedules=[gocardless_daily_schedule],
)
