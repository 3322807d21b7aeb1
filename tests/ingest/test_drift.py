"""Balance drift (`src/ingest/drift.py`): between two syncs, an account's closing booked balance moves by the sum of
the booked transactions dated between the two balances, unless the bank keeps one from us.

The sandbox's balances reconcile with its transactions; hiding one booked transaction from its listing is a bank
that lets us read less than its balance holds. Each test extracts and derives the connection the way the assets do,
without Dagster (`ingest`, tests/harness/ingest.py); the check that reports the finding in a run is Dagster's
wiring (tests/orchestration/test_resilience.py).
"""

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from tests.harness.ingest import Ingest, advance_until, booked_with_id_after, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


@pytest.mark.parametrize("hide", [False, True], ids=["all-visible", "one-hidden"])
def test_drift_is_found_only_when_a_transaction_is_missing(
    pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest, hide: bool
) -> None:
    sandbox.set_limits(account_daily=100)
    connection_id = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
    ingest.sync(connection_id)
    first_day = sandbox.clock()["today"]
    sandbox.advance_clock(days=3)
    account_id, gc_id = rows(pipeline_database, "SELECT id, provider_id FROM accounts")[0]
    expected = []
    if hide:
        # A booked item between the two balances (the clock moves on until the bank has booked one).
        _, hidden = advance_until(sandbox, [str(gc_id)], booked_with_id_after(first_day))
        sandbox.hide_transaction(str(gc_id), str(hidden["transactionId"]))
        expected = [(account_id, Decimal(str(hidden["transactionAmount"]["amount"])))]
    ingest.sync(connection_id)
    assert [(drift.account_id, drift.difference) for drift in ingest.drifts(connection_id)] == expected
