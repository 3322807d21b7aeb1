"""Extraction assets: Enable Banking → `eb_*` tables. Thin: the work is in `src.ingest.enablebanking`."""

import dagster as dg

from src.ingest.enablebanking import extraction, raw
from src.ingest.enablebanking.institutions import derive_institutions
from src.models.enums import GcScope
from src.orchestration import steps
from src.orchestration.enablebanking.config import GROUP, PROVIDER, EnableBankingScopeConfig, extract_key
from src.orchestration.resources import EnableBankingResource, PostgresDatabase
from src.orchestration.scope import check_run_scope, connections_in_scope
from src.settings import settings


@dg.asset(key=extract_key("institutions"), group_name=GROUP, kinds={"python", "postgres"})
def institutions(
    context: dg.AssetExecutionContext,
    config: EnableBankingScopeConfig,
    postgres_database: PostgresDatabase,
    enablebanking_api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The bank lists of GOCARDLESS_COUNTRIES (the countries finsync offers), into eb_aspsps and `institutions`."""
    check_run_scope(context)
    stored = 0
    for country in settings.gocardless_countries:
        listed = enablebanking_api.client.list_aspsps(country)
        with postgres_database.unit_of_work() as session:
            ids = raw.store_aspsp_list(session, country, listed)
            derive_institutions(session, ids)
        stored += len(listed)
        context.log.info(f"Enable Banking banks stored for {country}: {len(listed)}")
    return dg.MaterializeResult(metadata={"institutions": stored})


@dg.asset(key=extract_key("sessions"), group_name=GROUP, kinds={"python", "postgres"})
def sessions(
    context: dg.AssetExecutionContext,
    config: EnableBankingScopeConfig,
    postgres_database: PostgresDatabase,
    enablebanking_api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The status and validity of each connection's current session."""
    connection_ids = connections_in_scope(context, postgres_database, config, PROVIDER)
    refreshed = extraction.refresh_sessions(postgres_database.sessions(), enablebanking_api.client, connection_ids)
    return dg.MaterializeResult(metadata={"connections": len(connection_ids), "refreshed": refreshed})


def _extract(
    context: dg.AssetExecutionContext,
    scope: GcScope,
    config: EnableBankingScopeConfig,
    database: PostgresDatabase,
    api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    connection_ids = connections_in_scope(context, database, config, PROVIDER)
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
        psu=config.person(),
        planned=steps.planned_scopes(config, database, connection_ids),
    )
    return dg.MaterializeResult(metadata=steps.outcome_metadata(results))


@dg.asset(
    key=extract_key("account_details"), group_name=GROUP, deps=[extract_key("sessions")], kinds={"python", "postgres"}
)
def account_details(
    context: dg.AssetExecutionContext,
    config: EnableBankingScopeConfig,
    postgres_database: PostgresDatabase,
    enablebanking_api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Each account's details (name, IBAN, currency, product), a bounded number of accounts at once."""
    return _extract(context, GcScope.details, config, postgres_database, enablebanking_api)


@dg.asset(
    key=extract_key("account_balances"),
    group_name=GROUP,
    deps=[extract_key("account_details")],
    kinds={"python", "postgres"},
)
def account_balances(
    context: dg.AssetExecutionContext,
    config: EnableBankingScopeConfig,
    postgres_database: PostgresDatabase,
    enablebanking_api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Every balance type the bank reports, per account."""
    return _extract(context, GcScope.balances, config, postgres_database, enablebanking_api)


@dg.asset(
    key=extract_key("transactions"),
    group_name=GROUP,
    deps=[extract_key("account_details")],
    kinds={"python", "postgres"},
)
def transactions(
    context: dg.AssetExecutionContext,
    config: EnableBankingScopeConfig,
    postgres_database: PostgresDatabase,
    enablebanking_api: EnableBankingResource,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Booked, pending and cancelled transactions, every page, incrementally (last booked date less the overlap)."""
    return _extract(context, GcScope.transactions, config, postgres_database, enablebanking_api)


EXTRACTION_ASSETS = [institutions, sessions, account_details, account_balances, transactions]
