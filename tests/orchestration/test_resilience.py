"""Extraction under pressure: many accounts at once, rate limits, 5xx, expired or suspended access, a crash in
the middle of an account's write, and balance drift. In-process runs against the sandbox (`sandbox` fixture's
controls set the scene) and a database of the test's own (`pipeline_database`)."""

import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from src.orchestration.gocardless.config import sync_key
from tests.harness.pipeline import connect_sandbox, run_assets
from tests.harness.pipeline import rows as _rows
from tests.harness.sandbox import SandboxControl


def _outcomes(engine: Engine, run_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for provider_id, outcome in _rows(
        engine,
        "SELECT a.provider_id, o.outcome FROM sync_outcomes o JOIN accounts a ON a.id = o.account_id "
        "WHERE o.dagster_run_id = :r",
        r=run_id,
    ):
        found.setdefault(str(outcome), []).append(str(provider_id))
    return found


@pytest.fixture
def concurrency(monkeypatch: pytest.MonkeyPatch) -> int:
    from src.settings import settings

    monkeypatch.setattr(settings, "extract_concurrency", 8)
    return 8


class TestConcurrency:
    def test_fifty_slow_accounts_are_fetched_in_parallel_within_the_bound(
        self, pipeline_database: Engine, sandbox: SandboxControl, concurrency: int
    ) -> None:
        sandbox.set_limits(general={"account_data": 10_000})
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=50)
        sandbox.set_faults(latency_ms=100)
        sandbox.reset_counters()
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        counters = sandbox.counters()
        assert 1 < counters["max_in_flight"] <= concurrency
        assert len(_outcomes(pipeline_database, result.run_id)["synced"]) == 50


class TestRateLimits:
    def test_no_call_to_a_scope_whose_allowance_is_used_up(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        sandbox.set_limits(account_daily=1)
        connection_id = connect_sandbox(pipeline_database, sandbox)
        first = run_assets(sandbox, connection_id=connection_id)
        assert sorted(_outcomes(pipeline_database, first.run_id)) == ["synced"]
        second = run_assets(sandbox, connection_id=connection_id)
        assert second.success
        counters = sandbox.counters()["accounts"]
        for scopes in counters.values():
            for scope in ("details", "balances", "transactions"):
                assert scopes[scope]["calls"] == 1, scopes
                assert scopes[scope]["over_quota_calls"] == 0
        outcomes = _rows(
            pipeline_database, "SELECT outcome, retry_at FROM sync_outcomes WHERE dagster_run_id = :r", r=second.run_id
        )
        assert outcomes
        assert all(outcome == "rate_limited" and retry_at is not None for outcome, retry_at in outcomes)

    def test_one_rate_limited_account_while_the_others_sync(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        run_assets(sandbox, connection_id=connection_id)
        limited = str(_rows(pipeline_database, "SELECT provider_id FROM accounts ORDER BY iban LIMIT 1")[0][0])
        sandbox.set_bank_limit(limited, 0)
        result = run_assets(sandbox, connection_id=connection_id)
        outcomes = _outcomes(pipeline_database, result.run_id)
        assert outcomes["rate_limited"] == [limited]
        assert len(outcomes["synced"]) == 2

    def test_a_429_without_a_reset_rests_for_a_bounded_back_off_then_trusts_the_bank(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        """A bank can answer 429 with no reset time. That means "unknown": the account rests for the
        back-off (which does not move forward at every sync), then is called again and the answer is trusted."""
        from src.models.gocardless import UNKNOWN_RESET_BACKOFF

        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=1)
        run_assets(sandbox, connection_id=connection_id)
        limited = str(_rows(pipeline_database, "SELECT provider_id FROM accounts")[0][0])
        # 429s that carry no reset time (no per-account headers, no "try again in" detail).
        sandbox.set_faults(account_id=limited, burst_429=100, path_prefix=f"/api/v2/accounts/{limited}/transactions")
        refused = run_assets(sandbox, connection_id=connection_id)
        assert _outcomes(pipeline_database, refused.run_id) == {"rate_limited": [limited]}
        sql = "SELECT reset_at FROM gc_account_limits WHERE gc_account_id = :g AND scope = 'transactions'"
        first_retry = _rows(pipeline_database, sql, g=limited)[0][0]
        assert first_retry is not None
        assert first_retry - datetime.now(UTC) <= UNKNOWN_RESET_BACKOFF  # type: ignore[operator]
        calls = sandbox.counters()["accounts"][limited]["transactions"]["calls"]
        resting = run_assets(sandbox, connection_id=connection_id)
        assert _outcomes(pipeline_database, resting.run_id) == {"rate_limited": [limited]}
        assert sandbox.counters()["accounts"][limited]["transactions"]["calls"] == calls  # no call while resting
        assert _rows(pipeline_database, sql, g=limited)[0][0] == first_retry  # the back-off did not move on
        # The back-off has passed (our clock, not the bank's: moved by rewriting the stored time) and the bank
        # answers again: the next sync calls and syncs.
        with pipeline_database.begin() as connection:
            connection.execute(
                text("UPDATE gc_account_limits SET reset_at = reset_at - :d, updated_at = updated_at - :d"),
                {"d": UNKNOWN_RESET_BACKOFF},
            )
        sandbox.clear_faults()
        again = run_assets(sandbox, connection_id=connection_id)
        assert _outcomes(pipeline_database, again.run_id) == {"synced": [limited]}


class TestFailures:
    def test_thirty_percent_5xx_still_completes(
        self, pipeline_database: Engine, sandbox: SandboxControl, concurrency: int
    ) -> None:
        sandbox.set_limits(account_daily=100, general={"account_data": 10_000})
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=10)
        sandbox.set_faults(error_rate=0.3, error_status=503)
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        outcomes = _outcomes(pipeline_database, result.run_id)
        assert sum(len(v) for v in outcomes.values()) == 10
        assert set(outcomes) <= {"synced", "bank_error"}
        assert len(outcomes.get("synced", [])) >= 8  # the client's retries absorb most of them

    def test_expired_and_suspended_accounts_end_as_outcomes(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        run_assets(sandbox, connection_id=connection_id)
        expired, suspended, fine = (
            str(row[0]) for row in _rows(pipeline_database, "SELECT provider_id FROM accounts ORDER BY iban")
        )
        sandbox.expire(expired, "access_expired")
        sandbox.suspend(suspended)
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        outcomes = _outcomes(pipeline_database, result.run_id)
        assert sorted(outcomes["reauth_required"]) == sorted([expired, suspended])
        assert outcomes["synced"] == [fine]
        statuses = dict(_rows(pipeline_database, "SELECT provider_id, status FROM accounts"))  # type: ignore[arg-type]
        assert (statuses[expired], statuses[suspended], statuses[fine]) == ("expired", "suspended", "active")

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
            kept = db.execute(text("SELECT count(*) FROM transactions WHERE account_id = :a"), {"a": victim}).scalar()
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


class TestDrift:
    @pytest.mark.parametrize("hide", [False, True], ids=["all-visible", "one-hidden"])
    def test_drift_check_warns_only_when_a_transaction_is_missing(
        self, pipeline_database: Engine, sandbox: SandboxControl, hide: bool
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        run_assets(sandbox, connection_id=connection_id)
        sandbox.advance_clock(days=3)
        gc_id = str(_rows(pipeline_database, "SELECT provider_id FROM accounts")[0][0])
        if hide:
            from src.providers.gocardless.client import GoCardlessClient

            with GoCardlessClient(
                base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
            ) as client:
                booked = client.get_account_transactions(gc_id).transactions.booked
            sandbox.set_limits(account_daily=100)
            today = sandbox.clock()["today"]
            newest = next(t for t in booked if t.get("transactionId") and t.get("bookingDate", "") <= today)
            sandbox.hide_transaction(gc_id, str(newest["transactionId"]))
        result = run_assets(sandbox, connection_id=connection_id)
        assert result.success
        evaluations = [
            e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
        assert len(evaluations) == 1
        evaluation = evaluations[0]
        assert evaluation.passed is (not hide)  # type: ignore[union-attr]
        assert evaluation.severity is dg.AssetCheckSeverity.WARN  # type: ignore[union-attr]
