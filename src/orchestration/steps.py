"""What every provider's assets do alike, written once: the scoped accounts of a run, one unit of work per account
for transactions (with the run's outcome) and for balances, and an extraction's outcome counts as metadata.

Thin, like the assets: the work is in `src/ingest/`. Each provider's assets pass their provider's name and its raw
transaction source."""

import uuid
from collections.abc import Mapping

import dagster as dg

from src import clock
from src.ingest import balances, outcomes
from src.ingest.accounts import account_ids_of
from src.ingest.allowances import connection_plans
from src.ingest.extraction import ExtractResult
from src.ingest.transactions import RawTransactionSource, sync_account_transactions
from src.models.enums import GcScope, SyncOutcomeKind
from src.orchestration.config import ConnectionScopeConfig
from src.orchestration.resources import PostgresDatabase
from src.orchestration.scope import RunContext, connections_in_scope


def outcome_metadata(results: list[ExtractResult]) -> dict[str, int]:
    """How many accounts an extraction asset read, by outcome (`not_due`: skipped without a call)."""
    counts = {kind.value: 0 for kind in SyncOutcomeKind}
    counts["not_due"] = 0
    for result in results:
        counts[result.outcome.value if result.outcome else "not_due"] += 1
    return {"accounts": len(results), **counts}


def planned_scopes(
    config: ConnectionScopeConfig, database: PostgresDatabase, connection_ids: list[uuid.UUID]
) -> Mapping[str, frozenset[GcScope]] | None:
    """For a background run, the scopes the quota planner says are due now, per provider account id; None for a
    person's run (Sync now reads every scope that has a call left)."""
    if not config.scheduled:
        return None
    with database.sessions()() as session:
        plans = connection_plans(session, connection_ids, clock.now())
    return {key: account.call_now for plan in plans.values() for key, account in plan.accounts.items()}


def scoped_accounts(
    context: RunContext, database: PostgresDatabase, config: ConnectionScopeConfig, provider: str
) -> list[uuid.UUID]:
    """The unified accounts of the run's connections of `provider` (after the run's scope is checked)."""
    connection_ids = connections_in_scope(context, database, config, provider)
    with database.sessions()() as session:
        return account_ids_of(session, connection_ids)


def sync_transactions(
    context: dg.AssetExecutionContext,
    database: PostgresDatabase,
    account_ids: list[uuid.UUID],
    source: RawTransactionSource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Each account's transactions from its raw rows and the run's outcome for it, one unit of work per account:
    a crash half-way leaves every account either synced or as it was."""
    new = updated = 0
    for account_id in account_ids:
        with database.unit_of_work() as session:
            counts = sync_account_transactions(session, account_id, source)
            outcomes.record_outcome(session, context.run.run_id, account_id, counts)
        new, updated = new + counts.new, updated + counts.updated
        context.log.debug(f"account {account_id}: {counts.new} new, {counts.updated} updated")
    return dg.MaterializeResult(metadata={"new": new, "updated": updated})


def derive_balances(database: PostgresDatabase, account_ids: list[uuid.UUID]) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Each account's daily snapshots and current balance, one unit of work per account."""
    for account_id in account_ids:
        with database.unit_of_work() as session:
            balances.derive_balances(session, [account_id])
    return dg.MaterializeResult(metadata={"accounts": len(account_ids)})
