"""What a run of the GoCardless assets does when part of it fails, and how it reports: a crash in the middle of an
account's write fails the run and leaves that account as it was; the balance drift check reports as a warning.
In-process runs against the sandbox (`sandbox` fixture's controls set the scene) and a database of the test's own
(`pipeline_database`). The rules under these runs (extraction under rate limits, 5xx and ended access; drift) are
tested on a database session in tests/ingest.
"""

import uuid

import dagster as dg
from sqlalchemy import Engine, text

from src.orchestration.gocardless.config import sync_key
from tests.harness.ingest import advance_until, booked_with_id_after, connect_sandbox
from tests.harness.ingest import rows as _rows
from tests.harness.pipeline import run_assets
from tests.harness.sandbox import SandboxControl


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
        tests/ingest/test_drift.py), as a warning: the run still succeeds."""
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        first = run_assets(sandbox, connection_id=connection_id)
        assert _drift_evaluation(first) == (True, dg.AssetCheckSeverity.WARN)  # one balance so far: nothing drifts
        first_day = sandbox.clock()["today"]
        sandbox.advance_clock(days=3)
        gc_id = str(_rows(pipeline_database, "SELECT provider_id FROM accounts")[0][0])
        _, hidden = advance_until(sandbox, [gc_id], booked_with_id_after(first_day))
        sandbox.hide_transaction(gc_id, str(hidden["transactionId"]))
        second = run_assets(sandbox, connection_id=connection_id)
        assert second.success
        assert _drift_evaluation(second) == (False, dg.AssetCheckSeverity.WARN)


def _drift_evaluation(result: dg.ExecuteInProcessResult) -> tuple[bool, dg.AssetCheckSeverity]:
    """(passed, severity) of the run's one check evaluation."""
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) == 1
    evaluation = evaluations[0]
    return evaluation.passed, evaluation.severity  # type: ignore[union-attr]
