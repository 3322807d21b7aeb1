"""Extraction assets: GoCardless → raw tables. Thin: the work is in `src.ingest.extraction`."""

import dagster as dg

from src.ingest import extraction, raw
from src.ingest.institutions import derive_institutions
from src.models.enums import GcScope
from src.orchestration import steps
from src.orchestration.gocardless.config import GROUP, ConnectionScopeConfig, extract_key
from src.orchestration.resources import GoCardlessResource, PostgresDatabase
from src.orchestration.scope import check_run_scope, connections_in_scope
from src.settings import settings


@dg.asset(key=extract_key("institutions"), group_name=GROUP, kinds={"python", "postgres"})
def institutions(
    context: dg.AssetExecutionContext,
    config: ConnectionScopeConfig,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The institution lists of GOCARDLESS_COUNTRIES, verbatim into gc_institutions, then into `institutions`.

    Institutions have no sync asset of their own (a bank list is not connection data): the unified rows are
    derived here, by the same `src.ingest` function the API uses when it fills a country on first use. A bank list
    belongs to no connection, but the asset still checks the run's scope first: in `gocardless_sync_job` it may be
    the run's first step, and a run that breaks the rule must call no bank at all."""
    check_run_scope(context)
    stored = 0
    for country in settings.gocardless_countries:
        listed = gocardless_api.client.list_institutions(country)
        with postgres_database.unit_of_work() as session:
            raw.store_institution_list(session, country, listed)
            stored += len(listed)
            derive_institutions(session, [institution.id for institution in listed])
        context.log.info(f"institutions stored for {country}: {len(listed)}")
    return dg.MaterializeResult(metadata={"institutions": stored})


@dg.asset(key=extract_key("requisitions"), group_name=GROUP, kinds={"python", "postgres"})
def requisitions(
    context: dg.AssetExecutionContext,
    config: ConnectionScopeConfig,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The status of each connection's current requisition and its agreement."""
    connection_ids = connections_in_scope(context, postgres_database, config)
    refreshed = extraction.extract_requisitions(postgres_database.sessions(), gocardless_api.client, connection_ids)
    return dg.MaterializeResult(metadata={"connections": len(connection_ids), "refreshed": refreshed})


def _extract(
    context: dg.AssetExecutionContext,
    scope: GcScope,
    config: ConnectionScopeConfig,
    database: PostgresDatabase,
    api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    connection_ids = connections_in_scope(context, database, config)
    with database.sessions()() as session:
        targets = extraction.account_targets(session, connection_ids)
    results = extraction.extract_scope(
        database.sessions(),
        api.client,
        targets,
        scope,
        concurrency=settings.extract_concurrency,
        overlap_days=settings.sync_overlap_days,
        run_id=context.run.run_id,
        planned=steps.planned_scopes(config, database, connection_ids),
    )
    return dg.MaterializeResult(metadata=steps.outcome_metadata(results))


@dg.asset(
    key=extract_key("account_details"),
    group_name=GROUP,
    deps=[extract_key("requisitions")],
    kinds={"python", "postgres"},
)
def account_details(
    context: dg.AssetExecutionContext,
    config: ConnectionScopeConfig,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Account metadata (status, IBAN) and details, per account, a bounded number of accounts at once."""
    return _extract(context, GcScope.details, config, postgres_database, gocardless_api)


@dg.asset(
    key=extract_key("account_balances"),
    group_name=GROUP,
    deps=[extract_key("account_details")],
    kinds={"python", "postgres"},
)
def account_balances(
    context: dg.AssetExecutionContext,
    config: ConnectionScopeConfig,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Every balance type the bank reports, per account."""
    return _extract(context, GcScope.balances, config, postgres_database, gocardless_api)


@dg.asset(
    key=extract_key("transactions"),
    group_name=GROUP,
    deps=[extract_key("account_details")],
    kinds={"python", "postgres"},
)
def transactions(
    context: dg.AssetExecutionContext,
    config: ConnectionScopeConfig,
    postgres_database: PostgresDatabase,
    gocardless_api: GoCardlessResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Booked and pending transactions, incrementally (last booked date minus SYNC_OVERLAP_DAYS)."""
    return _extract(context, GcScope.transactions, config, postgres_database, gocardless_api)


EXTRACTION_ASSETS = [institutions, requisitions, account_details, account_balances, transactions]
