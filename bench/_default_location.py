"""The code location the "Dagster defaults" side of bench/jobs.py loads: finsync's assets, checks and resources,
with `gocardless_connection_sync_job` defined exactly as in src/orchestration/gocardless/definitions.py except that
it names no executor, so Dagster's default (multi_or_in_process_executor, multiprocess unless told otherwise)
applies. finsync's own job pins the in-process executor, whose config schema refuses an
`{"execution": {"config": {"multiprocess": {}}}}` override, so a second definition of the job is the least
invasive honest way to run the same job with the default executor: same name, same selection, same ops and run
config; only the executor differs. Loaded by Dagster with `python_file` (absolute imports only)."""

import dagster as dg

from src.orchestration.gocardless.definitions import CONNECTION_ASSET_KEYS, gocardless_connection_sync_job
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS
from src.orchestration.resources import RESOURCES

connection_job_default_executor = dg.define_asset_job(
    gocardless_connection_sync_job.name,
    selection=dg.AssetSelection.assets(*CONNECTION_ASSET_KEYS),
    description=gocardless_connection_sync_job.description,
)

defs = dg.Definitions(
    assets=[*EXTRACTION_ASSETS, *SYNC_ASSETS],
    asset_checks=SYNC_CHECKS,
    jobs=[connection_job_default_executor],
    resources=RESOURCES,
)
