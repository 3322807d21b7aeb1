"""What a run of the GoCardless assets does when part of it fails, and how it reports: a run where accounts are
rate-limited, expired or failing at the bank still succeeds and records each account's outcome; the assets fetch
no more accounts at once than EXTRACT_CONCURRENCY; a crash in the middle of an account's write fails the run and
leaves that account as it was; the balance drift check reports as a warning.
In-process runs against the sandbox (`sandbox` fixture's controls set the scene) and a database of the test's own
(`pipeline_database`). The rules under these runs (extraction under rate limits, 5xx and ended access; drift) are
tested on a database session in tests/ingest.
"""

import uuid

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from src.orchestration.gocardless.config import sync_key
from src.settings import settings
from tests.harness.ingest import advance_until, booked_with_id_after, connect_sandbox
from tests.harness.ingest import rows as _rows
from tests.harness.pipeline import run_assets
from tests.harness.sandbox import SandboxControl


def _outcomes(engine: Engine, run_id: str) -> dict[str, str]:
    """The run's `sync_outcomes` rows: outcome by GoCardless account id."""
    found = _rows(
        engine,
        "SELECT a.provider_id, o.outcome FROM sync_outcomes o JOIN accounts a ON a.id = o.account_id "
        "WHERE o.dagster_run_id = :r",
        r=run_id,
    )
    return {str(provider_id): str(outcome) for provider_id, outcome in found}


class TestMixedScene:
    def test_a_run_with_limited_expired_and_failing_accounts_succeeds_and_records_each_outcome(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        """What goes wrong for one account is that account's outcome, never the run's failure. The 5xx answer
        every transactions call of one account, so the client's retries cannot absorb them and the outcome is
        known in advance."""
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=4)
        run_assets(sandbox, connection_id=connection_id)
        limited, expired, failing, fine = (
            str(row[0]) for row in _rows(pipeline_database, "SELECT provider_id FROM accounts ORDER BY iban")
        )
        sandbox.set_bank_limit(limited, 0)
        sandbox.expire(expired, "access_expired")
        sandbox.set_faults(error_rate=1.0, error_status=503, path_prefix=f"/api/v2/accounts/{failing}/transactions")
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        assert _outcomes(pipeline_database, result.run_id) == {
            limited: "rate_limited",
            expired: "reauth_required",
            failing: "bank_error",
            fine: "synced",
        }


class TestConcurrency:
    def test_the_assets_fetch_no_more_accounts_at_once_than_extract_concurrency(
        self, pipeline_database: Engine, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The bound is the setting the assets read, not the extraction's default (8): with 3, slow answers for
        more than 3 accounts overlap, but never more than 3 at a time."""
        monkeypatch.setattr(settings, "extract_concurrency", 3)
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=8)
        sandbox.set_faults(latency_ms=100)
        sandbox.reset_counters()
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        assert 1 < sandbox.counters()["max_in_flight"] <= 3
        assert list(_outcomes(pipeline_database, result.run_id).values()) == ["synced"] * 8


class TestFailures:
    def test_a_crash_half_way_through_an_accounts_write_leaves_it_as_it_was(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        run_assets(sandbox, connection_id=connection_id)
        victim = uuid.UUID(str(_rows(pipeline_database, "SELECT id FROM accounts ORDER BY iban LIMIT 1")[0][0]))
        before = _rows(pipeline_database, "SELECT * FROM transactions WHERE account_id = :a ORDER BY id", a=victim)
        # A real failure inside PostgreSQL, half-way through the account's upsert: a trigger that raises on one
        # row of the victim account (no mock stands in for the database).
        with pipeline_database.begin() as db:
            db.execute(text("DELETE FROM transactions WHERE account_id = :a AND id % 2 = 0"), {"a": victim})
            kept = db.execute(
                text("SELECT count(*) FROM transactions WHERE account_id = :a"), {"a": victim}
            ).scalar_one()
            db.execute(
                text(
                    """
                    CREATE FUNCTION fail_half_way() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'injected failure half-way through the write'; END $$;
                    CREATE TRIGGER fail_half_way BEFORE INSERT ON transactions FOR EACH ROW
                    WHEN (NEW.account_id = '"""
                    + str(victim)
                    + """' AND NEW.id % 2 = 0) EXECUTE FUNCTION fail_half_way();
                    """
                )
            )
            partial = _rows_in(db, victim)
        result = run_assets(sandbox, [sync_key("transactions")], connection_id=connection_id, raise_on_error=False)
        assert not result.success
        assert (
            _rows(pipeline_database, "SELECT * FROM transactions WHERE account_id = :a ORDER BY id", a=victim)
            == partial
        )
        assert len(partial) == kept < len(before)


def _rows_in(db: object, account_id: uuid.UUID) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in db.execute(  # type: ignore[attr-defined]
            text("SELECT * FROM transactions WHERE account_id = :a ORDER BY id"), {"a": account_id}
        )
    ]


class TestDriftCheck:
    def test_the_drift_check_reports_what_the_drift_rule_finds_as_a_warning(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        """The check passes while every account agrees and fails when one drifts (the rule itself:
        tests/ingest/test_drift.py), as a warning: the run still succeeds. The pass is read on a run that compares
        two closing balances with booked transactions between them; a run with one balance has nothing to compare
        and passes whatever was stored."""
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        run_assets(sandbox, connection_id=connection_id)
        gc_id = str(_rows(pipeline_database, "SELECT provider_id FROM accounts")[0][0])
        first_day = sandbox.clock()["today"]
        sandbox.advance_clock(days=3)
        advance_until(sandbox, [gc_id], booked_with_id_after(first_day))
        second_day = sandbox.clock()["today"]
        agreeing = run_assets(sandbox, connection_id=connection_id)
        assert agreeing.success
        assert _drift_evaluation(agreeing) == (True, dg.AssetCheckSeverity.WARN)
        assert _closing_dates(pipeline_database) == [first_day, second_day]
        booked_between = _rows(
            pipeline_database,
            "SELECT count(*) FROM transactions WHERE status = 'booked' AND booking_date > :f AND booking_date <= :s",
            f=first_day,
            s=second_day,
        )[0][0]
        assert booked_between  # the pass weighed transactions, not an empty window
        _, hidden = advance_until(sandbox, [gc_id], booked_with_id_after(second_day))
        sandbox.hide_transaction(gc_id, str(hidden["transactionId"]))
        drifting = run_assets(sandbox, connection_id=connection_id)
        assert drifting.success
        assert _drift_evaluation(drifting) == (False, dg.AssetCheckSeverity.WARN)


def _closing_dates(engine: Engine) -> list[str]:
    """The reference dates of the closing booked balances stored so far, oldest first."""
    found = _rows(
        engine,
        "SELECT DISTINCT e->>'referenceDate' AS day FROM gc_balances b, jsonb_array_elements(b.payload->'balances') e "
        "WHERE e->>'balanceType' = 'closingBooked' ORDER BY day",
    )
    return [str(row[0]) for row in found]


def _drift_evaluation(result: dg.ExecuteInProcessResult) -> tuple[bool, dg.AssetCheckSeverity]:
    """(passed, severity) of the run's one check evaluation."""
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) == 1
    evaluation = evaluations[0]
    return evaluation.passed, evaluation.severity  # type: ignore[union-attr]
