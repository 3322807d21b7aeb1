"""Dagster: the GraphQL client the jobs service launches, reads and terminates runs with."""

from src.providers.dagster.client import (
    CONNECTION_TAG,
    DagsterClient,
    Launched,
    LaunchResult,
    NotFound,
    Rejected,
    RunResult,
    RunState,
    Terminated,
    TerminateResult,
    Unreachable,
    get_dagster_client,
    get_patient_dagster_client,
    get_run_status,
    trigger_job,
)

__all__ = [
    "CONNECTION_TAG",
    "DagsterClient",
    "LaunchResult",
    "Launched",
    "NotFound",
    "Rejected",
    "RunResult",
    "RunState",
    "TerminateResult",
    "Terminated",
    "Unreachable",
    "get_dagster_client",
    "get_patient_dagster_client",
    "get_run_status",
    "trigger_job",
]
