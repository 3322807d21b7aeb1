"""The Dagster code location `finsync`: merges each domain's Definitions with the shared resources into `defs`.

workspace.yaml loads this file with `python_file`, as a top-level module: absolute imports only
(`from src.orchestration…`); a relative import here breaks Dagster's load while `python -c` still works.
"""

import dagster as dg

from src.logging_setup import configure_logging
from src.orchestration.background import JOB_RUN_SENSORS
from src.orchestration.consents import CONSENT_SENSORS
from src.orchestration.enablebanking.definitions import defs as enablebanking_defs
from src.orchestration.gocardless.definitions import defs as gocardless_defs
from src.orchestration.notifications import NOTIFICATION_SENSORS
from src.orchestration.resources import RESOURCES

# Every Dagster process that loads the location (code server, run workers) logs finsync's records as the API does:
# one key=value line each, naming the connection, account, job or run (Dagster captures stderr into its logs).
configure_logging()

defs = dg.Definitions.merge(
    gocardless_defs,
    enablebanking_defs,
    dg.Definitions(sensors=[*JOB_RUN_SENSORS, *CONSENT_SENSORS, *NOTIFICATION_SENSORS], resources=RESOURCES),
)
