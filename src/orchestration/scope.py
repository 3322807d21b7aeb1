"""Scope safety, and which connections a run touches: the one rule every provider's assets and checks obey.

A run is scoped by its run config: each op's `connection_id` (ConnectionScopeConfig). Leaving it out means every
connection, which is what `gocardless_sync_job` without config is for, and a disaster when it happens by accident
(a connection job launched from the UI with an empty config, or one op forgotten in a hand-written config, would
sync every user's connections). So, before anything reads a row or calls the bank:

- a run of a connection job (`src.sync_runs.CONNECTION_JOBS`) must name a connection;
- in any run where one op names a connection, every op that runs in it names that same connection.

Each op checks the whole run, not only its own config, so the run's first op already refuses a run that breaks
the rule and nothing has been touched. The ops that run are those of `context.job_def`: for a run of a subset
(an asset selection, a re-execution) Dagster hands each step the subset job, so an op left out of the run is not
asked for a connection it will never use.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import dagster as dg

from src.ingest import extraction
from src.orchestration.config import ConnectionScopeConfig
from src.orchestration.resources import PostgresDatabase
from src.sync_runs import CONNECTION_JOBS

RunContext = Union[dg.AssetExecutionContext, dg.AssetCheckExecutionContext]

_UNTOUCHED = "so the run stopped before reading a row or calling the bank"


def scoped_connection(job_name: str, run_config: Mapping[str, Any], op_names: Sequence[str]) -> Optional[str]:
    """The connection a run with this config and these ops is scoped to, or None for every connection.

    Raises dg.Failure, with the sentence an operator reads in the UI, when the run breaks the rule."""
    named = {op: _connection_named(run_config, op) for op in op_names}
    connections = sorted({connection for connection in named.values() if connection is not None})
    if len(connections) > 1:
        raise dg.Failure(
            description=f"this run names several connections ({', '.join(connections)}): every op of a run "
            f"that names a connection must name the same one, {_UNTOUCHED}"
        )
    if connections:
        missing = [op for op, connection in named.items() if connection is None]
        if missing:
            raise dg.Failure(
                description=f"this run names connection {connections[0]} in some ops but not in "
                f"{', '.join(missing)}: every op of a run that names a connection must name the same one "
                f"(set connection_id in the run config of every op), {_UNTOUCHED}"
            )
        return connections[0]
    if job_name in CONNECTION_JOBS:
        raise dg.Failure(
            description=f"{job_name} syncs one connection: set connection_id in the run config of every op "
            f"({', '.join(op_names)}); without it the run would sync every user's connections, {_UNTOUCHED}"
        )
    return None


def check_run_scope(context: RunContext) -> Optional[str]:
    """The run's connection (None: every connection) once the whole run's config obeys the rule; dg.Failure if
    it does not. First thing in every GoCardless asset and check."""
    op_names = [node.name for node in context.job_def.nodes_in_topological_order]
    return scoped_connection(context.run.job_name, context.run.run_config, op_names)


def connections_in_scope(
    context: RunContext, database: PostgresDatabase, config: ConnectionScopeConfig, provider: str = "gocardless"
) -> list[uuid.UUID]:
    """The connections of `provider` this op touches, after the run's scope is checked: the one its config names
    (which must exist and be that provider's: otherwise the run fails with that sentence), or all of them."""
    check_run_scope(context)
    with database.sessions()() as session:
        try:
            return extraction.connection_ids_in_scope(session, config.connection_id, provider)
        except (LookupError, ValueError) as exc:
            raise dg.Failure(description=str(exc)) from exc


def _connection_named(run_config: Mapping[str, Any], op_name: str) -> Optional[str]:
    ops = run_config.get("ops")
    entry = ops.get(op_name) if isinstance(ops, Mapping) else None
    config = entry.get("config") if isinstance(entry, Mapping) else None
    value = config.get("connection_id") if isinstance(config, Mapping) else None
    return None if value is None else str(value)
