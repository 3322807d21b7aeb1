"""Each rule written once, and the derivations still run where psycopg and PostgreSQL cache them.

- Status values in `src/ingest/` SQL come from the enums (`src/ingest/sql.py`): no statement spells one.
- Every derivation of one account runs many times on one pooled connection: psycopg prepares a statement from its
  sixth run there, and PostgreSQL may plan a prepared one generically from its sixth run on (the eleventh in all),
  with the parameter types fixed at the prepare. A parameter PostgreSQL cannot type the same way twice, or a plan
  that only a literal makes valid, fails there and nowhere earlier; the test runs past both thresholds, once as
  PostgreSQL chooses and once with generic plans forced.
"""

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, TextClause, select, text, update
from sqlalchemy.orm import Session, sessionmaker

import src.ingest
import src.ingest.transactions as transactions_module
from src.ingest import balances, drift, extraction, outcomes, raw
from src.ingest.accounts import account_ids_of, derive_accounts
from src.ingest.connections import derive_connections
from src.ingest.enablebanking.transactions import ENABLEBANKING
from src.ingest.sql import ENUM_VALUES, text_with_enums
from src.ingest.transactions import GOCARDLESS, sync_account_transactions
from src.models import Account, Connection, GcAccount, SyncOutcome
from src.models.enums import (
    ConnectionStatus,
    GcRequisitionStatus,
    GcScope,
    SyncOutcomeKind,
    TransactionStatus,
)
from src.providers.gocardless.client import GoCardlessClient
from tests.harness.ingest import connect_sandbox
from tests.harness.ingest import rows as rows_of
from tests.harness.sandbox import SandboxControl

if TYPE_CHECKING:
    from tests.harness.enablebanking import EnableBankingSandboxControl, EnableBankingSandboxServer

ROUNDS = 15  # past psycopg's prepare (after 5 runs) and PostgreSQL's choice of a generic plan (5 more)


def _ingest_statements() -> list[tuple[str, TextClause]]:
    """Every SQL statement of `src/ingest/` and its provider packages, by name: the module-level ones, and the
    transaction statements each raw source builds from the shared template."""
    found = []
    for module_info in pkgutil.walk_packages(src.ingest.__path__, prefix="src.ingest."):
        module = importlib.import_module(module_info.name)
        found += [
            (f"{module_info.name}.{name}", value)
            for name, value in vars(module).items()
            if isinstance(value, TextClause)
        ]
    for source_name, source in (("gocardless", GOCARDLESS), ("enablebanking", ENABLEBANKING)):
        found.append((f"upsert.{source_name}", transactions_module._upsert_statement(source)))
        found.append((f"link_pending.{source_name}", transactions_module._link_pending_statement(source)))
    return found


class TestEnumValuesInSql:
    def test_no_statement_spells_a_status_value(self) -> None:
        statements = _ingest_statements()
        assert len(statements) >= 18
        assert any(name.startswith("src.ingest.enablebanking.") for name, _ in statements)
        spelled = [
            (name, value)
            for name, statement in statements
            for value in ENUM_VALUES.values()
            if f"'{value}'" in statement.text
        ]
        assert spelled == []

    def test_each_enum_value_is_bound_under_its_enum_and_member(self) -> None:
        statement = text_with_enums("SELECT :requisition_linked, :connection_expired, :account_id")
        bound = statement.compile().params
        assert bound == {
            "requisition_linked": GcRequisitionStatus.linked.value,
            "connection_expired": ConnectionStatus.expired.value,
            "account_id": None,  # not an enum value: left for the caller
        }

    def test_the_values_reach_the_database_as_the_enum_spells_them(self, db_session: Session) -> None:
        row = db_session.execute(
            text_with_enums("SELECT :requisition_linked, :transaction_void, :outcome_rate_limited")
        ).one()
        assert tuple(row) == ("LN", "void", "rate_limited")


def _prepared(session: Session) -> list[tuple[str, int, int]]:
    """The statements psycopg has prepared on the session's connection: (text, generic plans, custom plans)."""
    rows = session.execute(text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")).all()
    return [(str(statement), int(generic), int(custom)) for statement, generic, custom in rows]


@pytest.mark.parametrize("plan_cache_mode", ["auto", "force_generic_plan"])
def test_one_accounts_derivations_run_again_and_again_on_one_pooled_connection(
    pipeline_database: Engine, sandbox: SandboxControl, plan_cache_mode: str
) -> None:
    connection_id = connect_sandbox(pipeline_database, sandbox, account_count=2)
    factory = sessionmaker(bind=pipeline_database, expire_on_commit=False)
    with GoCardlessClient(
        base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
    ) as client:
        extraction.extract_requisitions(factory, client, [connection_id])
        for scope in (GcScope.details, GcScope.balances, GcScope.transactions):
            with factory() as session:
                targets = extraction.account_targets(session, [connection_id])
            assert len(targets) == 2
            extraction.extract_scope(factory, client, targets, scope, concurrency=1, run_id="first")

    with pipeline_database.connect() as connection:
        connection.execute(text(f"SET plan_cache_mode = {plan_cache_mode}"))
        connection.commit()
        session = Session(bind=connection, expire_on_commit=False)
        today = datetime.now(UTC).date()
        for round_number in range(ROUNDS):
            run_id = f"run-{round_number}"
            # Alternate how each run's fetch ended, so the outcome's CASE takes each branch with values and NULLs.
            limited = round_number % 2 == 1
            retry_at = datetime.now(UTC) + timedelta(hours=1) if limited else None
            for target in extraction.account_targets(session, [connection_id]):
                raw.record_fetch(
                    session,
                    target.gc_account_id,
                    outcome=SyncOutcomeKind.rate_limited if limited else SyncOutcomeKind.synced,
                    run_id=run_id,
                    message="no transactions calls left" if limited else None,
                    retry_at=retry_at,
                )
                start = extraction.transactions_window_start(session, target.gc_account_id, today, overlap_days=10)
                assert start <= today
            changed = derive_connections(session, [connection_id])
            derive_accounts(session, [connection_id])
            derive_connections(session, [connection_id])
            account_ids = account_ids_of(session, [connection_id])
            assert len(account_ids) == 2
            for account_id in account_ids:
                counts = sync_account_transactions(session, account_id)
                if round_number > 0:
                    assert (counts.new, counts.updated) == (0, 0)  # unchanged raw data changes nothing
                outcomes.record_outcome(session, run_id, account_id, counts)
                balances.derive_balances(session, [account_id])
            drift.balance_drifts(session, account_ids)
            session.commit()

            if round_number > 0:
                assert changed == 0  # the first round set the expiry from the agreement
            recorded = session.execute(
                select(SyncOutcome.outcome, SyncOutcome.retry_at).where(SyncOutcome.dagster_run_id == run_id)
            ).all()
            expected = SyncOutcomeKind.rate_limited if limited else SyncOutcomeKind.synced
            assert [(outcome, retry) for outcome, retry in recorded] == [(expected, retry_at)] * 2

        prepared = _prepared(session)
        session.close()

    # The rounds did reach psycopg's prepared statements, and under force_generic_plan PostgreSQL's generic plans
    # (else this test would prove nothing).
    for fragment in (
        "UPDATE connections c",
        "INSERT INTO transactions",
        "INSERT INTO sync_outcomes",
        "INSERT INTO balance_snapshots",
    ):
        plans = [(generic, custom) for statement, generic, custom in prepared if fragment in statement]
        assert plans, fragment
        if plan_cache_mode == "force_generic_plan":
            assert all(generic > 0 and custom == 0 for generic, custom in plans), (fragment, plans)

    with factory() as session:
        assert session.scalar(select(Connection.status).where(Connection.id == connection_id)) == (
            ConnectionStatus.active
        )
        statuses = set(session.scalars(select(Account.status).where(Account.connection_id == connection_id)))
        assert statuses == {"active"}
        assert session.scalar(select(Connection.last_synced_at).where(Connection.id == connection_id)) is not None
        assert session.scalar(select(GcAccount.fetch_run_id).limit(1)) == f"run-{ROUNDS - 1}"
        booked = session.scalar(
            text("SELECT count(*) FROM transactions WHERE status = :booked"), {"booked": TransactionStatus.booked}
        )
        assert booked


@pytest.mark.parametrize("plan_cache_mode", ["auto", "force_generic_plan"])
def test_enable_banking_derivations_run_again_and_again_on_one_pooled_connection(
    pipeline_database: Engine,
    enablebanking_sandbox: "EnableBankingSandboxControl",
    enablebanking_sandbox_server: "EnableBankingSandboxServer",
    plan_cache_mode: str,
) -> None:
    from src.ingest.enablebanking import connections as eb_connections
    from src.ingest.enablebanking.accounts import derive_accounts as eb_derive_accounts
    from tests.harness.enablebanking import sandbox_enablebanking_client
    from tests.harness.enablebanking_ingest import EbIngest, connect_enablebanking, sessions_on

    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, client, customer="alice")
        EbIngest(sessions=sessions_on(pipeline_database), client=client).extract(connection_id, "first")

    with pipeline_database.connect() as connection:
        connection.execute(text(f"SET plan_cache_mode = {plan_cache_mode}"))
        connection.commit()
        session = Session(bind=connection, expire_on_commit=False)
        for round_number in range(ROUNDS):
            eb_connections.derive_connections(session, [connection_id])
            eb_derive_accounts(session, [connection_id])
            account_ids = account_ids_of(session, [connection_id])
            assert len(account_ids) == 2
            for account_id in account_ids:
                counts = sync_account_transactions(session, account_id, ENABLEBANKING)
                if round_number > 0:
                    assert (counts.new, counts.updated) == (0, 0)
                outcomes.record_outcome(session, f"run-{round_number}", account_id, counts)
                balances.derive_balances(session, [account_id])
            drift.balance_drifts(session, account_ids)
            session.commit()
        prepared = _prepared(session)
        session.close()

    for fragment in ("UPDATE connections c", "INSERT INTO transactions", "UPDATE eb_accounts"):
        plans = [(generic, custom) for statement, generic, custom in prepared if fragment in statement]
        assert plans, fragment
        if plan_cache_mode == "force_generic_plan":
            assert all(generic > 0 and custom == 0 for generic, custom in plans), (fragment, plans)
    status = rows_of(pipeline_database, "SELECT status FROM connections WHERE id = :c", c=connection_id)
    assert status == [("active",)]
    assert rows_of(pipeline_database, "SELECT count(*) > 0 FROM transactions WHERE status = 'booked'") == [(True,)]


@pytest.mark.parametrize("plan_cache_mode", ["auto", "force_generic_plan"])
def test_the_background_syncs_statements_run_again_and_again_on_one_pooled_connection(
    pipeline_database: Engine, sandbox: SandboxControl, plan_cache_mode: str
) -> None:
    """The background sync's every tick on one pooled connection, a day's worth of ticks: the planner's reads, the
    scheduled job (whose ON CONFLICT must keep inferring the partial index under a generic plan), its run starting
    and ending, and the allowance the run records."""
    from src.ingest.allowances import connection_plans
    from src.ingest.background import start_due_syncs
    from src.ingest.job_runs import new_job, run_ended, run_started
    from src.models import Job
    from src.models.enums import JobStatus, JobTrigger

    connection_id = connect_sandbox(pipeline_database, sandbox, account_count=2)
    factory = sessionmaker(bind=pipeline_database, expire_on_commit=False)
    with GoCardlessClient(
        base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
    ) as client:
        extraction.extract_requisitions(factory, client, [connection_id])

    midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    with pipeline_database.connect() as connection:
        connection.execute(text(f"SET plan_cache_mode = {plan_cache_mode}"))
        connection.commit()
        session = Session(bind=connection, expire_on_commit=False)
        started = 0
        for round_number in range(24):  # past psycopg's prepare and the generic plan, within one allowance
            now = midnight + timedelta(hours=round_number)
            # A click that starts no run (canceled before it reached Dagster): the manual job's ON CONFLICT on
            # every tick, so that it runs past psycopg's prepare and PostgreSQL's generic plan too.
            owner = session.scalar(select(Connection.user_id).where(Connection.id == connection_id))
            clicked = new_job(session, user_id=owner, connection_id=connection_id, trigger=JobTrigger.manual)
            assert clicked is not None
            session.execute(update(Job).where(Job.id == clicked).values(status=JobStatus.canceled))
            due = start_due_syncs(session, "gocardless", now)
            for job in due:
                started += 1
                run_started(session, job.job_id, f"run-{round_number}", now)
                for target in extraction.account_targets(session, [connection_id]):
                    for scope in (GcScope.balances, GcScope.transactions):
                        raw.record_exhausted(
                            session,
                            target.gc_account_id,
                            scope,
                            remaining=4 - started,
                            limit=4,
                            reset_at=midnight + timedelta(days=1),
                            now=now,
                        )
                assert run_ended(session, job.job_id, f"run-{round_number}", "SUCCESS", now) is not None
            plan = connection_plans(session, [connection_id], now)[connection_id]
            assert len(plan.accounts) == 2
            session.commit()
        prepared = _prepared(session)
        session.close()

    # Three background reads in the day, eight hours apart, and the person's call left: the planner's rule held on
    # every tick, whatever plan PostgreSQL chose.
    assert started == 3
    assert all(
        state.remaining == 1
        for account in plan.accounts.values()
        for scope, state in account.scopes.items()
        if scope is not GcScope.details
    )
    plans = [(generic, custom) for statement, generic, custom in prepared if "INSERT INTO jobs" in statement]
    assert plans
    if plan_cache_mode == "force_generic_plan":
        assert all(generic > 0 and custom == 0 for generic, custom in plans), plans
