"""The sync runs finsync launches, named once for the API and for Dagster: the jobs, the concurrency tag, the ops
of the connection job, and the one builder of a connection-scoped run.

Imports nothing from Dagster (the API builds runs without loading it) and nothing else from `src/`, so every floor
may use it: the jobs service launches what `connection_run` builds, the daily schedule requests it, and the Dagster
client tags the runs of the documented `{"ops": {"*": …}}` form with `CONNECTION_TAG`. The op names are what the
loaded definitions call the connection job's ops; a test holds the two equal.
"""

from dataclasses import dataclass, field
from typing import Any

FULL_SYNC_JOB = "gocardless_sync_job"
"""Every GoCardless asset; without config, every connection."""
CONNECTION_JOB = "gocardless_connection_sync_job"
"""One connection's extraction and sync. A run that names no connection, or not the same one in every op, fails
before it reads a row or calls the bank (src/orchestration/gocardless/scope.py)."""
CONNECTION_JOBS = frozenset({CONNECTION_JOB})

CONNECTION_TAG = "finsync/connection_id"
"""On every connection-scoped run: the instance allows one run per value at a time (deploy/dagster*.yaml)."""

CONNECTION_JOB_OPS = (
    "source__gocardless__extract__requisitions",
    "source__gocardless__extract__account_details",
    "source__gocardless__extract__account_balances",
    "source__gocardless__extract__transactions",
    "sync__gocardless__connections",
    "sync__gocardless__accounts",
    "sync__gocardless__transactions",
    "sync__gocardless__balances",
    "sync__gocardless__balances_balance_drift",
)
"""The ops of the connection job (its eight assets and the balance drift check), each taking the connection."""


@dataclass(frozen=True)
class ConnectionRun:
    """What to launch to sync one connection: the job, a run config naming the connection in every op, the tags."""

    job: str
    run_config: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def connection_run(connection_id: str) -> ConnectionRun:
    """The run that syncs one connection, every op scoped to it and tagged with it (so that no two runs of one
    connection ever overlap, whoever launched them)."""
    return ConnectionRun(
        job=CONNECTION_JOB,
        run_config={"ops": {name: {"config": {"connection_id": connection_id}} for name in CONNECTION_JOB_OPS}},
        tags={CONNECTION_TAG: connection_id},
    )
