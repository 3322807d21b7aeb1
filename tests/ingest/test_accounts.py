"""Unified accounts from raw GoCardless accounts (`src/ingest/accounts.py`): a raw account joins the same person's
account with its IBAN, so one bank account connected twice is still one account, listed once and counted once.

Each test extracts and derives sandbox connections the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own.
"""

import uuid

from sqlalchemy import Engine

from tests.harness.ingest import Ingest, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


def _rows_of(engine: Engine, user_id: uuid.UUID) -> dict[str, object]:
    """The person's accounts, distinct IBANs and balance total, and their booked transactions, as the listings count
    them."""
    ((accounts, ibans, balance_total, booked),) = rows(
        engine,
        "SELECT count(*), count(DISTINCT a.iban), sum(a.balance_amount), "
        "(SELECT count(*) FROM transactions t JOIN accounts x ON x.id = t.account_id "
        " JOIN connections xc ON xc.id = x.connection_id WHERE xc.user_id = :u AND t.status = 'booked') "
        "FROM accounts a JOIN connections c ON c.id = a.connection_id WHERE c.user_id = :u",
        u=user_id,
    )
    return {"accounts": accounts, "ibans": ibans, "balance_total": balance_total, "booked": booked}


class TestTheSameBankTwice:
    def test_a_second_connection_of_the_same_accounts_lists_and_counts_each_once(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        sandbox.set_limits(account_daily=100)
        first = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        ingest.sync(first)
        ((user_id,),) = rows(pipeline_database, "SELECT user_id FROM connections WHERE id = :c", c=first)
        assert isinstance(user_id, uuid.UUID)
        before = _rows_of(pipeline_database, user_id)
        second = connect_sandbox(pipeline_database, sandbox, customer="chloe", user_id=user_id)
        ingest.sync(second)
        ingest.sync(first)
        after = _rows_of(pipeline_database, user_id)
        assert after["accounts"] == before["accounts"] == 3
        assert after["ibans"] == 3
        assert after["booked"] == before["booked"]
        assert after["balance_total"] == before["balance_total"]
