"""Sync assets: raw tables → unified tables, with no GoCardless call. Thin: the work is in `src.ingest`.

Each account's transactions and balances are synced in a unit of work of their own, so a crash half-way through
leaves every account either fully synced or as it was.
"""

import uuid

import dagster as dg

from src.ingest import drift
from src.ingest.accounts import account_ids_of, derive_accounts
from src.ingest.connections import derive_connections
from src.ingest.transactions import GOCARDLESS
from src.orchestration import steps
from src.orchestration.gocardless.config import GROUP, PROVIDER, ConnectionScopeConfig, extract_key, sync_key
from src.orchestration.resources import PostgresDatabase
from src.orchestration.scope import RunContext, connections_in_scope


def _accounts(context: RunContext, database: PostgresDatabase, config: ConnectionScopeConfig) -> list[uuid.UUID]:
    return steps.scoped_accounts(context, database, config, PROVIDER)


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
    return steps.sync_transactions(
        context, postgres_database, _accounts(context, postgres_database, config), GOCARDLESS
    )


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
    return steps.derive_balances(postgres_database, _accounts(context, postgres_database, config))


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
