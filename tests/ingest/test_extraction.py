"""Extraction under pressure (`src/ingest/extraction.py`): many accounts at once, rate limits, 5xx, expired or
suspended access, and the window of each transactions fetch.

Each test extracts and derives a sandbox connection the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own; the sandbox's controls set the scene and its counters say
which calls really reached the bank.
"""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from src.models.gocardless import UNKNOWN_RESET_BACKOFF
from tests.harness.ingest import Ingest, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


def _outcomes(engine: Engine, run_id: str) -> dict[str, list[str]]:
    """The run's outcomes: GoCardless account ids by outcome."""
    found: dict[str, list[str]] = {}
    for provider_id, outcome in rows(
        engine,
        "SELECT a.provider_id, o.outcome FROM sync_outcomes o JOIN accounts a ON a.id = o.account_id "
        "WHERE o.dagster_run_id = :r",
        r=run_id,
    ):
        found.setdefault(str(outcome), []).append(str(provider_id))
    return found


class TestConcurrency:
    def test_fifty_slow_accounts_are_fetched_in_parallel_within_the_bound(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        assert ingest.concurrency > 1
        sandbox.set_limits(general={"account_data": 10_000})
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=50)
        sandbox.set_faults(latency_ms=100)
        sandbox.reset_counters()
        run_id = ingest.sync(connection_id)
        counters = sandbox.counters()
        assert 1 < counters["max_in_flight"] <= ingest.concurrency
        assert len(_outcomes(pipeline_database, run_id)["synced"]) == 50


class TestRateLimits:
    def test_no_call_to_a_scope_whose_allowance_is_used_up(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        sandbox.set_limits(account_daily=1)
        connection_id = connect_sandbox(pipeline_database, sandbox)
        first = ingest.sync(connection_id)
        assert sorted(_outcomes(pipeline_database, first)) == ["synced"]
        second = ingest.sync(connection_id)
        counters = sandbox.counters()["accounts"]
        for scopes in counters.values():
            for scope in ("details", "balances", "transactions"):
                assert scopes[scope]["calls"] == 1, scopes
                assert scopes[scope]["over_quota_calls"] == 0
        outcomes = rows(
            pipeline_database, "SELECT outcome, retry_at FROM sync_outcomes WHERE dagster_run_id = :r", r=second
        )
        assert outcomes
        assert all(outcome == "rate_limited" and retry_at is not None for outcome, retry_at in outcomes)

    def test_one_rate_limited_account_while_the_others_sync(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        ingest.sync(connection_id)
        limited = str(rows(pipeline_database, "SELECT provider_id FROM accounts ORDER BY iban LIMIT 1")[0][0])
        sandbox.set_bank_limit(limited, 0)
        outcomes = _outcomes(pipeline_database, ingest.sync(connection_id))
        assert outcomes["rate_limited"] == [limited]
        assert len(outcomes["synced"]) == 2

    def test_a_429_without_a_reset_rests_for_a_bounded_back_off_then_trusts_the_bank(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        """A bank can answer 429 with no reset time. That means "unknown": the account rests for the
        back-off (which does not move forward at every sync), then is called again and the answer is trusted."""
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=1)
        ingest.sync(connection_id)
        limited = str(rows(pipeline_database, "SELECT provider_id FROM accounts")[0][0])
        # 429s that carry no reset time (no per-account headers, no "try again in" detail).
        sandbox.set_faults(account_id=limited, burst_429=100, path_prefix=f"/api/v2/accounts/{limited}/transactions")
        refused = ingest.sync(connection_id)
        assert _outcomes(pipeline_database, refused) == {"rate_limited": [limited]}
        sql = "SELECT reset_at FROM gc_account_limits WHERE gc_account_id = :g AND scope = 'transactions'"
        first_retry = rows(pipeline_database, sql, g=limited)[0][0]
        assert first_retry is not None
        assert first_retry - datetime.now(UTC) <= UNKNOWN_RESET_BACKOFF  # type: ignore[operator]
        calls = sandbox.counters()["accounts"][limited]["transactions"]["calls"]
        resting = ingest.sync(connection_id)
        assert _outcomes(pipeline_database, resting) == {"rate_limited": [limited]}
        assert sandbox.counters()["accounts"][limited]["transactions"]["calls"] == calls  # no call while resting
        assert rows(pipeline_database, sql, g=limited)[0][0] == first_retry  # the back-off did not move on
        # The back-off has passed (our clock, not the bank's: moved by rewriting the stored time) and the bank
        # answers again: the next sync calls and syncs.
        with pipeline_database.begin() as connection:
            connection.execute(
                text("UPDATE gc_account_limits SET reset_at = reset_at - :d, updated_at = updated_at - :d"),
                {"d": UNKNOWN_RESET_BACKOFF},
            )
        sandbox.clear_faults()
        again = ingest.sync(connection_id)
        assert _outcomes(pipeline_database, again) == {"synced": [limited]}


class TestFailures:
    def test_thirty_percent_5xx_still_completes(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        sandbox.set_limits(account_daily=100, general={"account_data": 10_000})
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=10)
        sandbox.set_faults(error_rate=0.3, error_status=503)
        outcomes = _outcomes(pipeline_database, ingest.sync(connection_id))  # raises nothing: errors are outcomes
        assert sum(len(v) for v in outcomes.values()) == 10
        assert set(outcomes) <= {"synced", "bank_error"}
        assert len(outcomes.get("synced", [])) >= 8  # the client's retries absorb most of them

    def test_expired_and_suspended_accounts_end_as_outcomes(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        ingest.sync(connection_id)
        expired, suspended, fine = (
            str(row[0]) for row in rows(pipeline_database, "SELECT provider_id FROM accounts ORDER BY iban")
        )
        sandbox.expire(expired, "access_expired")
        sandbox.suspend(suspended)
        outcomes = _outcomes(pipeline_database, ingest.sync(connection_id))
        assert sorted(outcomes["reauth_required"]) == sorted([expired, suspended])
        assert outcomes["synced"] == [fine]
        statuses = {
            str(gc_id): status for gc_id, status in rows(pipeline_database, "SELECT provider_id, status FROM accounts")
        }
        assert (statuses[expired], statuses[suspended], statuses[fine]) == ("expired", "suspended", "active")


class TestWindow:
    def test_later_fetches_start_at_the_last_booked_date_minus_the_overlap(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="alice")
        ingest.sync(connection_id)
        first = rows(pipeline_database, "SELECT transactions_fetched_from FROM gc_accounts ORDER BY id")
        assert first
        assert all(row[0] == date.fromisoformat(sandbox.clock()["today"]) - timedelta(days=90) for row in first)
        ingest.sync(connection_id)
        fetched = rows(
            pipeline_database,
            "SELECT ga.transactions_fetched_from, max((gt.payload->>'bookingDate')::date) FROM gc_accounts ga "
            "JOIN gc_transactions gt ON gt.gc_account_id = ga.id AND gt.status = 'booked' GROUP BY ga.id",
        )
        for fetched_from, last_booked in fetched:
            assert fetched_from == last_booked - timedelta(days=ingest.overlap_days)  # type: ignore[operator]
