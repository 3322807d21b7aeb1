"""Enable Banking into the unified tables, against the Enable Banking sandbox over HTTP: every booked cent, pending
items that book later (linked, never duplicated) or vanish (void), cancelled ones void, accounts that survive
re-authorisation, and the bank's refusals as per-account outcomes."""

import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from src.models.enums import GcScope, SyncOutcomeKind
from src.providers.enablebanking.client import EnableBankingClient
from src.sandbox.enablebanking.history import MAX_LAG
from tests.harness.enablebanking import (
    EnableBankingSandboxControl,
    EnableBankingSandboxServer,
    sandbox_enablebanking_client,
)
from tests.harness.enablebanking_ingest import (
    PERSON,
    EbIngest,
    bank_listing,
    booked_sums,
    connect_enablebanking,
    consent,
    sessions_on,
)
from tests.harness.ingest import rows

BANKS = [
    (("Mock ASPSP", "FI"), "alice"),  # ignores the dates it is asked for
    (("Rhein Volksbank", "DE"), "carol"),  # new transaction ids in every session, 90 days, refuses older
    (("Bank Wisła", "PL"), "alice"),  # PSU headers required, an empty first page, debits signed by the bank
    (("Thistle Bank", "GB"), "bob"),
    (("Fjord Sparbank", "SE"), "alice"),
]


@pytest.fixture
def eb_client(enablebanking_sandbox_server: EnableBankingSandboxServer) -> Iterator[EnableBankingClient]:
    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        yield client


@pytest.fixture
def ingest(pipeline_database: Engine, eb_client: EnableBankingClient) -> EbIngest:
    return EbIngest(sessions=sessions_on(pipeline_database), client=eb_client)


def unified(engine: Engine, connection_id: uuid.UUID) -> dict[str, list[tuple[object, ...]]]:
    """The connection's unified transactions by status: (account uid now, amount, currency, booked_as_id)."""
    found: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for status, *rest in rows(
        engine,
        """
        SELECT t.status, a.provider_id, t.amount, t.currency, t.booked_as_id, t.id, t.transaction_key
        FROM transactions t JOIN accounts a ON a.id = t.account_id
        WHERE a.connection_id = :c
        """,
        c=connection_id,
    ):
        found[str(status)].append(tuple(rest))
    return found


def assert_booked_equal_the_banks(engine: Engine, client: EnableBankingClient, connection_id: uuid.UUID) -> None:
    """Per account: the unified booked rows are the bank's booked set (count, and sum per currency to the cent).

    Some banks list a rolling window only (the bank that ignores the dates it is asked for lists its last 150 days):
    what finsync read before stays while the bank stops listing it, so the sets are compared from a few days after
    the oldest booking the bank lists now (an item made before its window may book inside it)."""
    accounts = rows(engine, "SELECT id, provider_id FROM accounts WHERE connection_id = :c", c=connection_id)
    assert accounts
    for account_id, uid in accounts:
        listing = bank_listing(client, str(uid))
        oldest = min(date.fromisoformat(str(t["booking_date"])) for t in listing if t["status"] == "BOOK")
        since = oldest + timedelta(days=MAX_LAG)
        expected_count, expected_sums = booked_sums(listing, since.isoformat())
        mine = rows(
            engine,
            "SELECT currency, count(*), sum(amount) FROM transactions "
            "WHERE account_id = :a AND status = 'booked' AND booking_date >= :since GROUP BY currency",
            a=account_id,
            since=since,
        )
        assert sum(int(str(n)) for _, n, _ in mine) == expected_count, uid
        assert {str(c): Decimal(str(s)) for c, _, s in mine} == expected_sums, uid


def account_reads(control: EnableBankingSandboxControl) -> dict[str, int]:
    """The sandbox's call counts of the account endpoints (details, balances, transactions)."""
    endpoints = control.counters()["endpoints"]
    return {name: count for name, count in endpoints.items() if "/accounts/" in name}


@pytest.mark.parametrize(("aspsp", "customer"), BANKS, ids=[f"{a[1]}-{a[0]}" for a, _ in BANKS])
def test_every_account_equals_the_banks_booked_set_and_pending_items_resolve(
    pipeline_database: Engine,
    enablebanking_sandbox: EnableBankingSandboxControl,
    eb_client: EnableBankingClient,
    ingest: EbIngest,
    aspsp: tuple[str, str],
    customer: str,
) -> None:
    connection_id = connect_enablebanking(
        pipeline_database, enablebanking_sandbox, eb_client, aspsp=aspsp, customer=customer
    )
    ingest.sync(connection_id)
    assert_booked_equal_the_banks(pipeline_database, eb_client, connection_id)
    first = unified(pipeline_database, connection_id)
    assert first["booked"], "the sandbox's history has booked items"

    for days in (2, 3, 4):  # the bank's clock runs ahead: pending items book (often as new items) or vanish
        enablebanking_sandbox.advance_clock(days=days)
        ingest.sync(connection_id, psu=PERSON)
        assert_booked_equal_the_banks(pipeline_database, eb_client, connection_id)

    after = unified(pipeline_database, connection_id)
    banks_pending = sum(
        1
        for (uid,) in rows(
            pipeline_database, "SELECT provider_id FROM accounts WHERE connection_id = :c", c=connection_id
        )
        for item in bank_listing(eb_client, str(uid))
        if item["status"] == "PDNG"
    )
    # Pending rows still open are exactly the bank's pending items: no pending item is kept twice.
    open_pending = [row for row in after["pending"] if row[3] is None]
    assert len(open_pending) == banks_pending
    # Every pending row the bank no longer lists is linked to its booked successor or void; never both booked.
    linked = [row for row in after["pending"] if row[3] is not None]
    booked_ids = {row[4] for row in after["booked"]}
    assert all(row[3] in booked_ids for row in linked)
    assert len({row[3] for row in linked}) == len(linked), "two pending rows linked to one booked row"
    # Re-syncing changes nothing.
    assert all(counts.new == 0 and counts.updated == 0 for counts in ingest.derive(connection_id).values())


def test_re_authorising_keeps_every_account_and_its_history(
    pipeline_database: Engine,
    enablebanking_sandbox: EnableBankingSandboxControl,
    eb_client: EnableBankingClient,
    ingest: EbIngest,
) -> None:
    connection_id = connect_enablebanking(
        pipeline_database, enablebanking_sandbox, eb_client, aspsp=("Rhein Volksbank", "DE"), customer="carol"
    )
    ingest.sync(connection_id)
    before = rows(
        pipeline_database,
        "SELECT a.id, a.provider_id, count(t.id) FROM accounts a LEFT JOIN transactions t ON t.account_id = a.id "
        "WHERE a.connection_id = :c GROUP BY a.id, a.provider_id ORDER BY a.id",
        c=connection_id,
    )
    assert len(before) == 3
    first_ids = rows(pipeline_database, "SELECT id FROM transactions ORDER BY id")

    consent(pipeline_database, enablebanking_sandbox, eb_client, connection_id, customer="carol")  # a new session
    ingest.sync(connection_id)
    after = rows(
        pipeline_database,
        "SELECT a.id, a.provider_id, count(t.id) FROM accounts a LEFT JOIN transactions t ON t.account_id = a.id "
        "WHERE a.connection_id = :c GROUP BY a.id, a.provider_id ORDER BY a.id",
        c=connection_id,
    )
    assert [row[0] for row in after] == [row[0] for row in before], "the same unified accounts"
    assert all(a[1] != b[1] for a, b in zip(after, before, strict=True)), "each now served by its new uid"
    assert [row[2] for row in after] == [row[2] for row in before], "no transaction duplicated"
    assert set(first_ids) <= set(rows(pipeline_database, "SELECT id FROM transactions")), "history kept"
    assert rows(pipeline_database, "SELECT status FROM connections WHERE id = :c", c=connection_id) == [("active",)]
    assert_booked_equal_the_banks(pipeline_database, eb_client, connection_id)


def test_a_revoked_session_asks_for_re_authorisation_and_keeps_the_data(
    pipeline_database: Engine,
    enablebanking_sandbox: EnableBankingSandboxControl,
    eb_client: EnableBankingClient,
    ingest: EbIngest,
) -> None:
    connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
    ingest.sync(connection_id)
    count = rows(pipeline_database, "SELECT count(*) FROM transactions")[0][0]
    (session_id,) = rows(pipeline_database, "SELECT id FROM eb_sessions WHERE connection_id = :c", c=connection_id)[0]
    enablebanking_sandbox.revoke_session(str(session_id))

    run_id = ingest.sync(connection_id)
    assert rows(pipeline_database, "SELECT status FROM connections WHERE id = :c", c=connection_id) == [("expired",)]
    outcomes = rows(pipeline_database, "SELECT outcome FROM sync_outcomes WHERE dagster_run_id = :r", r=run_id)
    assert outcomes
    assert {o for (o,) in outcomes} == {SyncOutcomeKind.reauth_required.value}
    assert rows(pipeline_database, "SELECT count(*) FROM transactions")[0][0] == count


def test_unattended_reads_stop_at_the_banks_daily_limit_and_attended_ones_do_not_count(
    pipeline_database: Engine,
    enablebanking_sandbox: EnableBankingSandboxControl,
    eb_client: EnableBankingClient,
    ingest: EbIngest,
) -> None:
    enablebanking_sandbox.set_limits(account_daily=2)
    connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client, customer="bob")
    for _ in range(2):
        results = ingest.extract(connection_id)
        assert {r.outcome for r in results[GcScope.transactions]} == {SyncOutcomeKind.synced}
    refused = ingest.extract(connection_id)[GcScope.transactions]
    assert {r.outcome for r in refused} == {SyncOutcomeKind.rate_limited}
    calls = account_reads(enablebanking_sandbox)
    # Not called again before the reset: the scope rests.
    again = ingest.extract(connection_id)[GcScope.transactions]
    assert {r.outcome for r in again} == {SyncOutcomeKind.rate_limited}
    assert account_reads(enablebanking_sandbox) == calls
    (retry_at,) = rows(
        pipeline_database, "SELECT fetch_retry_at FROM eb_accounts WHERE fetch_outcome = 'rate_limited'"
    )[0]
    assert retry_at is not None
    # A person's own Sync now reads anyway (PSU headers: the bank does not count it) and is not refused.
    attended = ingest.extract(connection_id, psu=PERSON)[GcScope.transactions]
    assert {r.outcome for r in attended} == {SyncOutcomeKind.synced}
