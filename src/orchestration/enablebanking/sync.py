"""Sync assets: `eb_*` tables → unified tables, with no Enable Banking call. Thin: the work is in `src.ingest`.

Each account's transactions and balances are synced in a unit of work of their own, as for GoCardless.
"""

import uuid

import dagster as dg

from src.ingest.accounts import account_ids_of
from src.ingest.enablebanking.accounts import derive_accounts
from src.ingest.enablebanking.connections import derive_connections
from src.ingest.enablebanking.transactions import ENABLEBANKING
from src.orchestration import steps
from src.orchestration.enablebanking.config import GROUP, PROVIDER, EnableBankingScopeConfig, extract_key, sync_key
from src.orchestration.resources import PostgresDatabase
from src.orchestration.scope import RunContext, connections_in_scope


def _accounts(context: RunContext, database: PostgresDatabase, config: EnableBankingScopeConfig) -> list[uuid.UUID]:
    return steps.scoped_accounts(context, database, config, PROVIDER)


@dg.asset(key=sync_key("connections"), group_name=GROUP, deps=[extract_key("sessions")], kinds={"postgres"})
def connections(
    context: dg.AssetExecutionContext, config: EnableBankingScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Connection status and expiry from the current session and its accounts."""
    connection_ids = connections_in_scope(context, postgres_database, config, PROVIDER)
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
    context: dg.AssetExecutionContext, config: EnableBankingScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Unified accounts (matched by identification hash, then IBAN, across sessions), name, currency, status."""
    connection_ids = connections_in_scope(context, postgres_database, config, PROVIDER)
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
    context: dg.AssetExecutionContext, config: EnableBankingScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Transactions upserted by (account, transaction key); pending items linked or voided, cancelled and rejected
    ones void; one outcome per account for this run."""
    return steps.sync_transactions(
        context, postgres_database, _accounts(context, postgres_database, config), ENABLEBANKING
    )


@dg.asset(
    key=sync_key("balances"),
    group_name=GROUP,
    deps=[extract_key("account_balances"), sync_key("accounts")],
    kinds={"postgres"},
)
def balance_snapshots(
    context: dg.AssetExecutionContext, config: EnableBankingScopeConfig, postgres_database: PostgresDatabase
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Daily balance snapshots and each account's current balance (priority in `src.ingest.balances`)."""
    return steps.derive_balances(postgres_database, _accounts(context, postgres_database, config))


SYNC_ASSETS = [connections, accounts, transactions, balance_snapshots]
