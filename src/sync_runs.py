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
ENABLEBANKING_FULL_SYNC_JOB = "enablebanking_sync_job"
"""Every Enable Banking asset; without config, every Enable Banking connection."""
ENABLEBANKING_CONNECTION_JOB = "enablebanking_connection_sync_job"
"""One Enable Banking connection's extraction and sync, with the same scope rule."""
CONNECTION_JOBS = frozenset({CONNECTION_JOB, ENABLEBANKING_CONNECTION_JOB})

CONNECTION_TAG = "finsync/connection_id"
"""On every connection-scoped run: the instance allows one run per value at a time (deploy/dagster*.yaml)."""
JOB_TAG = "finsync/job_id"
"""On every run a sync job launched or asked for: how a launch retry finds the run an unanswered attempt created,
and how the background sync's run-status sensors find the job of a run."""
TRIGGER_TAG = "finsync/trigger"
"""`scheduled` on the background sync's runs (a person's runs carry none)."""

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

ENABLEBANKING_CONNECTION_JOB_OPS = (
    "source__enablebanking__extract__sessions",
    "source__enablebanking__extract__account_details",
    "source__enablebanking__extract__account_balances",
    "source__enablebanking__extract__transactions",
    "sync__enablebanking__connections",
    "sync__enablebanking__accounts",
    "sync__enablebanking__transactions",
    "sync__enablebanking__balances",
)
"""The ops of the Enable Banking connection job, each taking the connection (and the person's PSU details)."""

PROVIDER_CONNECTION_JOBS = {
    "gocardless": (CONNECTION_JOB, CONNECTION_JOB_OPS),
    "enablebanking": (ENABLEBANKING_CONNECTION_JOB, ENABLEBANKING_CONNECTION_JOB_OPS),
}
"""Each provider's connection job and its ops, by the provider's name (`Provider` values)."""


@dataclass(frozen=True)
class PersonPresent:
    """The person who pressed Sync now, as their request reached finsync: a provider that distinguishes attended
    reads (Enable Banking's PSU headers) forwards them; a scheduled run has none."""

    ip_address: str
    user_agent: str | None = None


@dataclass(frozen=True)
class ConnectionRun:
    """What to launch to sync one connection: the job, a run config naming the connection in every op, the tags."""

    job: str
    run_config: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def connection_run(
    connection_id: str, provider: str = "gocardless", person: PersonPresent | None = None, *, scheduled: bool = False
) -> ConnectionRun:
    """The run that syncs one connection with its provider's job, every op scoped to it and tagged with it (so that
    no two runs of one connection ever overlap, whoever launched them). `person` reaches Enable Banking's ops only
    (GoCardless has no notion of an attended read). `scheduled`: a background run, which reads only the scopes the
    quota planner says are due."""
    job, ops = PROVIDER_CONNECTION_JOBS[provider]
    config: dict[str, Any] = {"connection_id": connection_id}
    tags = {CONNECTION_TAG: connection_id}
    if provider == "enablebanking" and person is not None:
        config |= {"psu_ip_address": person.ip_address, "psu_user_agent": person.user_agent}
    if scheduled:
        config["scheduled"] = True
        tags[TRIGGER_TAG] = "scheduled"
    return ConnectionRun(job=job, run_config={"ops": {name: {"config": dict(config)} for name in ops}}, tags=tags)
