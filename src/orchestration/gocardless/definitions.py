"""GoCardless: extraction and sync assets, the two jobs, the background sync and the daily bank lists.

The job names, the concurrency tag and the connection runs come from `src.sync_runs`, which the API uses too: a
scheduled sync and a Sync now are the same run of the same job, so the instance's per-connection tag limit keeps
them from overlapping.
"""

import dagster as dg

from src.orchestration.background import background_sync_sensor
from src.orchestration.gocardless.config import GROUP, PROVIDER, extract_key, sync_key
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS, balance_drift
from src.orchestration.schedules import institutions_schedule
from src.sync_runs import CONNECTION_JOB, FULL_SYNC_JOB

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


gocardless_background_sync = background_sync_sensor(PROVIDER)

gocardless_institutions_daily_schedule = institutions_schedule(
    "gocardless_institutions_daily_schedule",
    "0 4 * * *",
    FULL_SYNC_JOB,
    extract_key("institutions"),
    "04:00 UTC: the GoCardless bank lists (no connection is touched).",
)


defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    asset_checks=SYNC_CHECKS,
    jobs=[gocardless_sync_job, gocardless_connection_sync_job],
    schedules=[gocardless_institutions_daily_schedule],
    sensors=[gocardless_background_sync],
)
