"""Unified transactions from raw ones (`src/ingest/transactions.py`), and the key rule end to end: what the
sandbox's banks do to ids, and what the unified table keeps; pending items linked to what they booked as, or void;
dateless items; normalisation.

Each test extracts and derives a sandbox connection the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own, and compares the unified rows with what the sandbox lists for
the same window. Where a scene needs something the day's seeded history may lack (a pending item, one with an
id), the sandbox's clock moves on until the bank lists it (`advance_until`), or the raw row is planted.
"""

import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.harness.ingest import Ingest, advance_until, bank_lists, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


def _account_ids(engine: Engine, connection_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    return [
        (row[0], str(row[1]))  # type: ignore[misc]
        for row in rows(
            engine, "SELECT id, provider_id FROM accounts WHERE connection_id = :c ORDER BY iban", c=connection_id
        )
    ]


def _gc_account_ids(engine: Engine) -> list[str]:
    """The GoCardless account ids the connection's requisition lists (known before the first sync)."""
    return [str(row[0]) for row in rows(engine, "SELECT id FROM gc_accounts ORDER BY id")]


def _count(engine: Engine, account_id: uuid.UUID, where: str = "true") -> int:
    sql = f"SELECT count(*) FROM transactions WHERE account_id = :a AND {where}"
    count = rows(engine, sql, a=account_id)[0][0]
    assert isinstance(count, int)
    return count


def _pending_with_id(booked: list[dict[str, Any]], pending: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((item for item in pending if item.get("transactionId")), None)


@pytest.fixture
def connection(pipeline_database: Engine, sandbox: SandboxControl) -> uuid.UUID:
    sandbox.set_limits(account_daily=100)
    return connect_sandbox(pipeline_database, sandbox, customer="alice")


class TestIdModes:
    @pytest.mark.parametrize(
        "modes",
        [
            ["stable", "stable"],
            ["stable", "blank"],
            ["blank", "blank"],
            ["reissued", "reissued", "reissued"],
            ["stable", "reissued", "blank", "stable"],
        ],
        ids=lambda modes: "→".join(modes),
    )
    def test_ids_blanked_or_reissued_neither_duplicate_nor_lose(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        ingest: Ingest,
        connection: uuid.UUID,
        modes: list[str],
    ) -> None:
        ingest.sync(connection)
        (account_id, gc_id), *_ = _account_ids(pipeline_database, connection)
        for mode in modes:
            sandbox.set_id_mode(gc_id, mode)
            ingest.sync(connection)
        booked, pending = bank_lists(sandbox, gc_id)
        assert _count(pipeline_database, account_id, "status = 'booked'") == len(booked)
        assert _count(pipeline_database, account_id, "status = 'pending' AND booked_as_id IS NULL") == len(pending)

    def test_internal_ids_repeated_across_accounts_stay_apart(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        ingest.sync(connection)
        shared = rows(
            pipeline_database,
            "SELECT internal_transaction_id FROM transactions t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.connection_id = :c AND internal_transaction_id IS NOT NULL "
            "GROUP BY internal_transaction_id HAVING count(DISTINCT account_id) > 1",
            c=connection,
        )
        assert shared, "the sandbox should repeat GoCardless internal ids across accounts"
        for account_id, gc_id in _account_ids(pipeline_database, connection):
            booked, _ = bank_lists(sandbox, gc_id)
            assert _count(pipeline_database, account_id, "status = 'booked'") == len(booked)

    def test_identical_twins_without_ids_stay_two_rows(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="alice", max_historical_days=730)
        ingest.sync(connection_id)
        for _, gc_id in _account_ids(pipeline_database, connection_id):
            sandbox.set_id_mode(gc_id, "blank")
        ingest.sync(connection_id)
        twins = rows(
            pipeline_database,
            "SELECT account_id, fingerprint, count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.connection_id = :c GROUP BY 1, 2 HAVING count(*) > 1",
            c=connection_id,
        )
        assert twins, "two years of history hold identical items on one day"
        for account_id, gc_id in _account_ids(pipeline_database, connection_id):
            booked, _ = bank_lists(sandbox, gc_id)
            assert _count(pipeline_database, account_id, "status = 'booked'") == len(booked)


class TestPending:
    def test_pending_books_later_under_a_new_id_and_is_linked(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        advance_until(sandbox, _gc_account_ids(pipeline_database), _pending_with_id)
        ingest.sync(connection)
        pending_before = rows(
            pipeline_database,
            "SELECT t.id, t.amount, t.transaction_id FROM transactions t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.connection_id = :c AND t.status = 'pending'",
            c=connection,
        )
        assert pending_before
        assert any(transaction_id for _, _, transaction_id in pending_before)
        sandbox.advance_clock(days=4)  # every item the sandbox had pending has booked by now
        ingest.sync(connection)
        linked = rows(
            pipeline_database,
            "SELECT p.id, p.amount, b.amount, b.status, p.transaction_id, b.transaction_id "
            "FROM transactions p JOIN transactions b ON b.id = p.booked_as_id WHERE p.id = ANY(:ids)",
            ids=[row[0] for row in pending_before],
        )
        assert len(linked) == len(pending_before)
        for _, pending_amount, booked_amount, booked_status, pending_id, booked_id in linked:
            assert pending_amount == booked_amount
            assert booked_status == "booked"
            if pending_id is not None:  # booked under a new id (an item pending without one may book without one)
                assert booked_id != pending_id

    def test_pending_items_dated_after_our_date_are_resolved_too(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        """The bank's date runs ahead of finsync's (time zones, the sandbox clock): its pending items are dated after
        our today, and once they book they must still leave the pending set, so pending totals equal the bank's."""
        ingest.sync(connection)
        sandbox.advance_clock(days=10)
        advance_until(sandbox, _gc_account_ids(pipeline_database), lambda _, pending: pending or None)
        ingest.sync(connection)
        ahead = rows(
            pipeline_database,
            "SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.connection_id = :c AND t.status = 'pending' AND t.booking_date > current_date",
            c=connection,
        )
        assert ahead[0][0], "the bank's pending items should be dated after our date"
        sandbox.advance_clock(days=4)  # those have booked by now, under new ids
        ingest.sync(connection)
        for account_id, gc_id in _account_ids(pipeline_database, connection):
            _, pending = bank_lists(sandbox, gc_id)
            bank_total = sum(Decimal(str(item["transactionAmount"]["amount"])) for item in pending)
            ours = rows(
                pipeline_database,
                "SELECT count(*), coalesce(sum(amount), 0) FROM transactions "
                "WHERE account_id = :a AND status = 'pending' AND booked_as_id IS NULL",
                a=account_id,
            )
            assert ours == [(len(pending), bank_total)]

    def test_a_dropped_pending_item_is_not_linked_to_a_booked_twin_listed_beside_it(
        self, pipeline_database: Engine, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        """Whatever today's data: a pending item the bank listed beside an identical booked one, then dropped, is
        void. The booked one existed alongside it, so it cannot be what the pending item booked as."""
        ingest.sync(connection)
        (account_id, gc_id), *_ = _account_ids(pipeline_database, connection)
        with pipeline_database.begin() as db:
            twin = db.execute(
                text(
                    "INSERT INTO gc_transactions (gc_account_id, transaction_key, status, fingerprint, payload, "
                    "first_seen_at, last_seen_at) "
                    "SELECT gc_account_id, 'twin-of-' || transaction_key, 'pending', 'twin-' || fingerprint, "
                    "(payload - 'bookingDate' - 'bookingDateTime' - 'internalTransactionId' - 'entryReference') "
                    "|| jsonb_build_object('transactionId', 'TWIN-PENDING'), first_seen_at, last_seen_at "
                    "FROM gc_transactions WHERE gc_account_id = :g AND status = 'booked' "
                    "AND payload ? 'valueDate' ORDER BY payload->>'bookingDate' DESC LIMIT 1 "
                    "RETURNING transaction_key"
                ),
                {"g": gc_id},
            ).scalar_one()
        ingest.sync(connection)  # the bank lists the booked one only
        found = rows(
            pipeline_database,
            "SELECT status, booked_as_id FROM transactions WHERE account_id = :a AND transaction_key = :k",
            a=account_id,
            k=twin,
        )
        assert found == [("void", None)]

    def test_a_pending_item_the_bank_drops_becomes_void(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        gc_id, item = advance_until(sandbox, _gc_account_ids(pipeline_database), _pending_with_id)
        dropped = str(item["transactionId"])
        ingest.sync(connection)
        victim = rows(pipeline_database, "SELECT account_id FROM gc_accounts WHERE id = :g", g=gc_id)[0][0]
        sql = "SELECT status, booked_as_id FROM transactions WHERE account_id = :a AND transaction_id = :t"
        assert rows(pipeline_database, sql, a=victim, t=dropped) == [("pending", None)]
        sandbox.hide_transaction(gc_id, dropped)
        ingest.sync(connection)
        assert rows(pipeline_database, sql, a=victim, t=dropped) == [("void", None)]


class TestDateless:
    def test_an_item_without_any_date_is_kept_with_the_extraction_date(
        self, pipeline_database: Engine, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        ingest.sync(connection)
        (account_id, gc_id), *_ = _account_ids(pipeline_database, connection)
        # The sandbox's banks always date their items; a dateless one is written raw, as extraction would.
        with pipeline_database.begin() as db:
            db.execute(
                text(
                    "INSERT INTO gc_transactions (gc_account_id, transaction_key, status, fingerprint, payload) "
                    "VALUES (:g, 'dateless.0', 'booked', 'dateless', "
                    '\'{"transactionAmount": {"amount": "-7.50", "currency": "EUR"}, '
                    '"remittanceInformationUnstructured": "  no   date  "}\')'
                ),
                {"g": gc_id},
            )
        ingest.derive(connection)
        found = rows(
            pipeline_database,
            "SELECT booking_date, date_is_estimated, amount, description FROM transactions "
            "WHERE account_id = :a AND transaction_key = 'dateless.0'",
            a=account_id,
        )
        assert len(found) == 1
        booking_date, estimated, amount, description = found[0]
        assert booking_date == date.today()
        assert estimated is True
        assert str(amount) == "-7.50"
        assert description == "no date"


class TestNormalisation:
    def test_remittance_counterparty_and_amount_are_normalised(
        self, pipeline_database: Engine, ingest: Ingest, connection: uuid.UUID
    ) -> None:
        ingest.sync(connection)
        (account_id, gc_id), *_ = _account_ids(pipeline_database, connection)
        payloads = {
            "out.0": {
                "bookingDate": "2026-01-05",
                "transactionAmount": {"amount": "-1234.5678", "currency": "eur"},
                "creditorName": "Shop  Ltd",
                "ultimateCreditor": "Żabka   Polska",
                "debtorName": "Me myself",
                "creditorAccount": {"iban": "PL61109010140000071219812874"},
                "remittanceInformationUnstructuredArray": ["INV 42", "  thank   you "],
            },
            "in.0": {
                "bookingDate": "2026-01-06",
                "transactionAmount": {"amount": "15.00", "currency": "EUR"},
                "creditorName": "Me myself",
                "debtorName": "José Álvarez",
                "debtorAccount": {"bban": "12345678"},
                "remittanceInformationUnstructured": "Dinner\nsplit",
            },
        }
        with pipeline_database.begin() as db:
            for key, payload in payloads.items():
                db.execute(
                    text(
                        "INSERT INTO gc_transactions (gc_account_id, transaction_key, status, fingerprint, payload) "
                        "VALUES (:g, :k, 'booked', :k, CAST(:p AS jsonb))"
                    ),
                    {"g": gc_id, "k": key, "p": json.dumps(payload)},
                )
        ingest.derive(connection)
        derived = {
            row[0]: row[1:]
            for row in rows(
                pipeline_database,
                "SELECT transaction_key, amount, currency, counterparty_name, counterparty_account, description "
                "FROM transactions WHERE account_id = :a AND transaction_key IN ('out.0', 'in.0')",
                a=account_id,
            )
        }
        assert derived["out.0"] == (
            Decimal("-1234.5678"),
            "EUR",
            "Żabka Polska",
            "PL61109010140000071219812874",
            "INV 42 thank you",
        )
        assert derived["in.0"] == (Decimal("15.00"), "EUR", "José Álvarez", "12345678", "Dinner split")
