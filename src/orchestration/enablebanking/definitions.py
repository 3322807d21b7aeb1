"""Enable Banking: extraction and sync assets, the two jobs, the background sync and the daily bank lists.

Job names and the connection runs come from `src.sync_runs`, like GoCardless's: a scheduled sync and a Sync now
are the same run of the same job, tagged with the connection, so they never overlap.
"""

import dagster as dg

from src.orchestration.background import background_sync_sensor
from src.orchestration.enablebanking.config import GROUP, PROVIDER, extract_key
from src.orchestration.enablebanking.extraction import EXTRACTION_ASSETS
from src.orchestration.enablebanking.sync import SYNC_ASSETS
from src.orchestration.schedules import institutions_schedule
from src.sync_runs import ENABLEBANKING_CONNECTION_JOB, ENABLEBANKING_FULL_SYNC_JOB

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


enablebanking_background_sync = background_sync_sensor(PROVIDER)

enablebanking_institutions_daily_schedule = institutions_schedule(
    "enablebanking_institutions_daily_schedule",
    "15 4 * * *",
    ENABLEBANKING_FULL_SYNC_JOB,
    extract_key("institutions"),
    "04:15 UTC: the Enable Banking bank lists (no connection is touched).",
)


defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    jobs=[enablebanking_sync_job, enablebanking_connection_sync_job],
    schedules=[enablebanking_institutions_daily_schedule],
    sensors=[enablebanking_background_sync],
)
