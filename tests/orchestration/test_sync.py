"""The GoCardless assets, materialized in-process against real PostgreSQL and the sandbox over HTTP: Dagster's part
of a sync (one full sync through the assets, re-runs, a sync-only selection, scope, the schedules, the token shared
across runs, the institutions asset).

The rules the assets call (`src/ingest`: accounts, connections, outcomes, transactions, extraction, drift) are
tested on a database session, without Dagster, in tests/ingest. `pipeline_database` gives each test a database of
its own (the assets commit per account); `sandbox` is the shared sandbox server, reset per test; `connect_sandbox`
stores a connection as the bank callback does.
"""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from src.models import Account, Connection, SyncOutcome, Transaction
from src.models.enums import AccountStatus, ConnectionStatus
from src.orchestration.gocardless.definitions import CONNECTION_ASSET_KEYS
from tests.harness.ingest import connect_sandbox
from tests.harness.pipeline import SYNC_KEYS, run_assets
from tests.harness.sandbox import SandboxControl


def _count(engine: Engine, model: type, **filters: object) -> int:
    with Session(engine) as session:
        statement = select(func.count()).select_from(model).filter_by(**filters)
        return int(session.scalar(statement) or 0)


def _transactions_of(engine: Engine, connection_id: uuid.UUID) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
                    "WHERE a.connection_id = :c"
                ),
                {"c": connection_id},
            ).scalar_one()
        )


def _api_calls(sandbox: SandboxControl) -> int:
    return sum(sandbox.counters()["endpoints"].values())


class TestFullSync:
    def test_a_connection_syncs_into_the_unified_tables(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success

        with Session(pipeline_database) as session:
            connection = session.get(Connection, connection_id)
            assert connection is not None
            assert connection.status is ConnectionStatus.active
            assert connection.expires_at is not None
            assert connection.last_synced_at is not None
            accounts = session.scalars(select(Account).where(Account.connection_id == connection_id)).all()
            assert len(accounts) == 3
            assert {a.status for a in accounts} == {AccountStatus.active}
            assert len({a.currency for a in accounts}) >= 2
            assert all(a.iban and a.balance_amount is not None for a in accounts)
            outcomes = session.scalars(select(SyncOutcome).where(SyncOutcome.dagster_run_id == result.run_id)).all()
            assert sorted(o.outcome.value for o in outcomes) == ["synced"] * 3
            assert sum(o.new_count for o in outcomes) == _transactions_of(pipeline_database, connection_id)
        assert _transactions_of(pipeline_database, connection_id) > 200

    def test_running_again_changes_nothing(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        run_assets(sandbox, connection_id=connection_id)
        with pipeline_database.connect() as connection:
            before = connection.execute(text("SELECT * FROM transactions ORDER BY id")).all()
        second = run_assets(sandbox, connection_id=connection_id)
        with pipeline_database.connect() as connection:
            after = connection.execute(text("SELECT * FROM transactions ORDER BY id")).all()
        assert after == before
        with Session(pipeline_database) as session:
            outcomes = session.scalars(select(SyncOutcome).where(SyncOutcome.dagster_run_id == second.run_id)).all()
            assert [(o.new_count, o.updated_count) for o in outcomes] == [(0, 0)] * len(outcomes)

    def test_sync_only_rerun_calls_gocardless_zero_times(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        run_assets(sandbox, connection_id=connection_id)
        with pipeline_database.begin() as connection:
            connection.execute(text("DELETE FROM transactions"))
            connection.execute(text("DELETE FROM balance_snapshots"))
        sandbox.reset_counters()
        result = run_assets(sandbox, SYNC_KEYS, connection_id=connection_id)
        assert result.success
        assert _api_calls(sandbox) == 0
        assert _transactions_of(pipeline_database, connection_id) > 100


class TestScope:
    def test_a_scoped_run_touches_only_its_connection(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        first = connect_sandbox(pipeline_database, sandbox, customer="alice")
        second = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        run_assets(sandbox, connection_id=first)
        assert _transactions_of(pipeline_database, first) > 0
        assert _transactions_of(pipeline_database, second) == 0
        assert _count(pipeline_database, Account, connection_id=second) == 0

    def test_an_unknown_connection_fails_the_run_clearly(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        missing = uuid.uuid4()
        result = run_assets(sandbox, CONNECTION_ASSET_KEYS, connection_id=missing, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert f"connection {missing} does not exist" in str(failure.event_specific_data)

    def test_unscoped_run_syncs_every_connection(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        first = connect_sandbox(pipeline_database, sandbox, customer="alice")
        second = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        assert run_assets(sandbox).success
        assert _transactions_of(pipeline_database, first) > 0
        assert _transactions_of(pipeline_database, second) > 0
        assert _count(pipeline_database, Transaction) == _transactions_of(pipeline_database, first) + _transactions_of(
            pipeline_database, second
        )


@pytest.fixture(autouse=True)
def _quiet_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    from src.settings import settings

    monkeypatch.setattr(settings, "extract_concurrency", 4)


class TestInstitutions:
    def test_the_configured_countries_fill_the_institutions_table(
        self, pipeline_database: Engine, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from src.orchestration.gocardless.config import extract_key
        from src.settings import settings

        monkeypatch.setattr(settings, "gocardless_countries", ["GB", "DE"])
        assert run_assets(sandbox, [extract_key("institutions")]).success
        rows = dict(
            pipeline_database.connect().execute(text("SELECT id, transaction_total_days FROM institutions")).all()
        )
        assert rows["SANDBOXFINANCE_SFIN0000"] == 730
        assert "THISTLE_THSTGB2L" in rows
        assert "RHEINBANK_RHBKDEFF" in rows
        assert "LUMIERE_BLUMFRPP" not in rows  # FR was not asked for


class TestSchedule:
    def test_daily_institutions_run_touches_no_connection(self) -> None:
        import dagster as dg

        from src.orchestration.gocardless.config import extract_key
        from src.orchestration.gocardless.definitions import gocardless_institutions_daily_schedule
        from src.sync_runs import CONNECTION_TAG, FULL_SYNC_JOB

        with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 26, 4, 0, tzinfo=UTC)) as context:
            request = gocardless_institutions_daily_schedule(context)  # type: ignore[arg-type]

        assert isinstance(request, dg.RunRequest)
        assert gocardless_institutions_daily_schedule.default_status is dg.DefaultScheduleStatus.RUNNING
        assert gocardless_institutions_daily_schedule.job_name == FULL_SYNC_JOB
        assert request.run_key == "2026-11-26:institutions"
        assert request.asset_selection == [extract_key("institutions")]
        assert not request.run_config
        assert CONNECTION_TAG not in request.tags


class TestToken:
    def test_token_is_shared_through_the_database_across_runs(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        sandbox.reset_counters()
        run_assets(sandbox, connection_id=connection_id)
        run_assets(sandbox, connection_id=connection_id)
        assert sandbox.counters()["endpoints"].get("POST /api/v2/token/new/") == 1
