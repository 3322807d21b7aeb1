"""Sync assets: raw tables → unified tables, with no GoCardless call. Thin: the work is in `src.ingest`.

Each account's transactions and balances are synced in a unit of work of their own, so a crash half-way through
leaves every account either fully synced or as it was.
"""

import uuid

import dagster as dg

from src.ingest import balances, drift, outcomes
from src.ingest.accounts import account_ids_of, derive_accounts
from src.ingest.connections import derive_connections
from src.ingest.transactions import sync_account_transactions
from src.orchestration.gocardless.config import GROUP, ConnectionScopeConfig, extract_key, sync_key
from src.orchestration.resources import PostgresDatabase
from src.orchestration.scope import RunContext, connections_in_scope


def _accounts(context: RunContext, database: PostgresDatabase, config: ConnectionScopeConfig) -> list[uuid.UUID]:
    connection_ids = connections_in_scope(context, database, config)
    with database.sessions()() as session:
        return account_ids_of(session, connection_ids)


@dg.asset(key=sync_key("connections"), group_name=GROUP, deps=[extract_key("requisitions")], kinds={"postgres"})
def connections(
    context: dg.AssetExecutionContext, config: ConnectionScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Connection status and expiry from the current requisition, its agreement and its accounts."""
    connection_ids = connections_in_scope(context, postgres_database, config)
    with postgres_database.unit_of_work() as session:
        changed = derive_connections(session, connection_ids)
    return dg.MaterializeResult(metadata={"connections": len(connection_ids), "changed": changed})


@dg.asset(
    key=sync_key("accounts"),
    group_name=GROUP,
    deps=[extract_key("account_details"), sync_key("connections")],
    kinds={"postgres"},
)
def accounts(
    context: dg.AssetExecutionContext, config: ConnectionScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Unified accounts (matched by IBAN across re-authorisations), with name, currency and status."""
    connection_ids = connections_in_scope(context, postgres_database, config)
    with postgres_database.unit_of_work() as session:
        derive_accounts(session, connection_ids)
        derive_connections(session, connection_ids)  # account access states feed the connection's status
        count = len(account_ids_of(session, connection_ids))
    return dg.MaterializeResult(metadata={"accounts": count})


@dg.asset(
    key=sync_key("transactions"),
    group_name=GROUP,
    deps=[extract_key("transactions"), sync_key("accounts")],
    kinds={"postgres"},
)
def transactions(
    context: dg.AssetExecutionContext, config: ConnectionScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Transactions upserted by (account, transaction key); pending items linked or voided; one outcome per
    account for this run."""
    new = updated = 0
    for account_id in _accounts(context, postgres_database, config):
        with postgres_database.unit_of_work() as session:
            counts = sync_account_transactions(session, account_id)
            outcomes.record_outcome(session, context.run.run_id, account_id, counts)
        new, updated = new + counts.new, updated + counts.updated
        context.log.debug(f"account {account_id}: {counts.new} new, {counts.updated} updated")
    return dg.MaterializeResult(metadata={"new": new, "updated": updated})


@dg.asset(
    key=sync_key("balances"),
    group_name=GROUP,
    deps=[extract_key("account_balances"), sync_key("accounts")],
    kinds={"postgres"},
)
def balance_snapshots(
    context: dg.AssetExecutionContext, config: ConnectionScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Daily balance snapshots and each account's current balance (priority in `src.ingest.balances`)."""
    account_ids = _accounts(context, postgres_database, config)
    for account_id in account_ids:
        with postgres_database.unit_of_work() as session:
            balances.derive_balances(session, [account_id])
    return dg.MaterializeResult(metadata={"accounts": len(account_ids)})


@dg.asset_check(asset=sync_key("balances"), additional_deps=[sync_key("transactions")])
def balance_drift(
    context: dg.AssetCheckExecutionContext, config: ConnectionScopeConfig, postgres_database: PostgresDatabase
) -> dg.AssetCheckResult:
    """Warns when an account's closing balance moved by something else than its booked transactions."""
    account_ids = _accounts(context, postgres_database, config)
    with postgres_database.sessions()() as session:
        drifts = drift.balance_drifts(session, account_ids)
    return dg.AssetCheckResult(
        passed=not drifts,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "accounts_checked": len(account_ids),
            "drifting": [
                f"{d.account_id}: balance {d.balance_change:+} vs transactions {d.booked_sum:+} "
                f"({d.date_from}..{d.date_to})"
                for d in drifts
            ],
        },
    )


SYNC_ASSETS = [connections, accounts, transactions, balance_snapshots]
SYNC_CHECKS = [balance_drift]
