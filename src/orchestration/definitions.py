"""The Dagster code location `finsync`: merges each domain's Definitions into `defs`.

workspace.yaml loads this file with `python_file`, as a top-level module: absolute imports only
(`from src.orchestration…`). The GoCardless assets, jobs and schedule join here with the orchestration issue.
"""

import dagster as dg

defs = dg.Definitions()
