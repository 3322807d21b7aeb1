"""Daily balances derived from the bank's booked balance and the booked transactions (`src/accounts/daily.py`).

The rule on hand-made rows (on the test's rolled-back session): counted back from the latest booked balance,
carried over days without transactions, forward after it; pending, void and other-currency rows never count; a
reported booked balance that disagrees shows as drift. Then over HTTP (shape, owner, range), the statement on one
pooled connection past PostgreSQL's generic plan, and a first sync of the GoCardless sandbox: one sync draws the
whole history, ending on the bank's closing balance.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from src import clock
from src.accounts.daily import BOOKED_BALANCE_TYPES, MAX_DAYS, DailyBalance, daily_balances
from src.ingest.balances import BALANCE_PRIORITY
from src.models import Account, BalanceSnapshot, User
from src.models.enums import TransactionStatus
from tests.factories import (
    auth_headers,
    create_account,
    create_connection,
    create_transaction,
    create_user_with_password,
)
from tests.harness.ingest import Ingest, advance_until, booked_with_id_after, connect_sandbox, ingest_into, rows
from tests.harness.sandbox import SandboxControl

ROUNDS = 15  # past psycopg's prepare (after 5 runs) and PostgreSQL's generic plan (5 more): tests/ingest/test_sql.py
ANCHOR_DAY = date(2026, 3, 10)
TODAY = date(2026, 3, 14)


def _snapshot(
    session: Session, account: Account, day: date, amount: str, *, kind: str = "closingBooked", currency: str = "EUR"
) -> None:
    session.add(BalanceSnapshot(account_id=account.id, as_of=day, type=kind, amount=Decimal(amount), currency=currency))
    session.flush()


def _booked(
    session: Session,
    account: Account,
    day: date,
    amount: str,
    *,
    status: TransactionStatus = TransactionStatus.booked,
    currency: str | None = None,
) -> None:
    transaction = create_transaction(session, account=account, amount=Decimal(amount), booking_date=day, status=status)
    if currency is not None:
        transaction.currency = currency
        session.flush()


def _series(days: list[DailyBalance]) -> list[tuple[str, str, str | None, str | None]]:
    """(day, amount, reported, drift) as the API writes them: exact decimals."""
    return [
        (
            d.day.isoformat(),
            format(d.amount, "f"),
            None if d.reported is None else format(d.reported, "f"),
            None if d.drift is None else format(d.drift, "f"),
        )
        for d in days
    ]


@pytest.fixture
def account(db_session: Session, user: User) -> Account:
    """An EUR account: booked balance 1000.00 on 10 March; booked +500.00 (1 Mar), −120.50 (5 Mar), −30.25 (the
    anchor's own day), +10.01 (12 Mar, after the anchor); a pending −999 and a void −888 that must not count."""
    account = create_account(db_session, connection=create_connection(db_session, user=user), currency="EUR")
    _snapshot(db_session, account, ANCHOR_DAY, "1000.00")
    for day, amount in [(1, "500.00"), (5, "-120.50"), (10, "-30.25"), (12, "10.01")]:
        _booked(db_session, account, date(2026, 3, day), amount)
    _booked(db_session, account, date(2026, 3, 7), "-999", status=TransactionStatus.pending)
    _booked(db_session, account, date(2026, 3, 8), "-888", status=TransactionStatus.void)
    return account


def _expected_days() -> list[tuple[str, str, str | None, str | None]]:
    amounts = ["1150.75"] * 4 + ["1030.25"] * 5 + ["1000.00"] * 2 + ["1010.01"] * 3
    days = [(date(2026, 3, 1) + timedelta(days=n)).isoformat() for n in range(14)]
    return [
        (day, amount, "1000.00" if day == ANCHOR_DAY.isoformat() else None, None)
        for day, amount in zip(days, amounts, strict=True)
    ]


class TestTheRule:
    def test_booked_kinds_follow_the_balance_type_priority(self) -> None:
        assert BOOKED_BALANCE_TYPES == ("interimBooked", "closingBooked")
        assert BALANCE_PRIORITY[: len(BOOKED_BALANCE_TYPES)] == BOOKED_BALANCE_TYPES

    def test_counted_back_from_the_anchor_carried_and_forward_to_today(
        self, db_session: Session, account: Account
    ) -> None:
        days = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)
        assert _series(days) == _expected_days()
        assert {d.currency for d in days} == {"EUR"}
        # The anchor's own day is the bank's value: not derived; every other day is.
        assert [d.day for d in days if not d.derived] == [ANCHOR_DAY]

    def test_a_snapshot_that_disagrees_shows_its_drift(self, db_session: Session, account: Account) -> None:
        _snapshot(db_session, account, date(2026, 3, 5), "1050.25")  # the transactions say 1030.25
        _snapshot(db_session, account, date(2026, 3, 2), "1150.75")  # agrees
        _snapshot(db_session, account, date(2026, 3, 3), "7.00", kind="interimAvailable")  # not a booked kind
        by_day = {d.day: d for d in daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)}
        drifted = by_day[date(2026, 3, 5)]
        assert (drifted.amount, drifted.reported, drifted.drift, drifted.derived) == (
            Decimal("1030.25"),
            Decimal("1050.25"),
            Decimal("20.00"),
            True,
        )
        agreed = by_day[date(2026, 3, 2)]
        assert (agreed.reported, agreed.drift, agreed.derived) == (Decimal("1150.75"), None, False)
        assert by_day[date(2026, 3, 3)].reported is None
        assert [day for day, d in by_day.items() if d.drift is not None] == [date(2026, 3, 5)]

    def test_only_the_accounts_currency_counts(self, db_session: Session, account: Account) -> None:
        _booked(db_session, account, date(2026, 3, 6), "-5000", currency="USD")
        # A later booked balance in another currency is no anchor, and no report for the day either.
        _snapshot(db_session, account, date(2026, 3, 13), "1.00", currency="USD")
        days = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)
        assert _series(days) == _expected_days()

    def test_the_latest_booked_snapshot_is_the_anchor(self, db_session: Session, account: Account) -> None:
        _snapshot(db_session, account, date(2026, 3, 12), "2000.00", kind="interimBooked")
        _snapshot(db_session, account, date(2026, 3, 13), "9.99", kind="expected")  # includes pending: no anchor
        by_day = {d.day: d for d in daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)}
        assert by_day[date(2026, 3, 12)].amount == Decimal("2000.00")
        assert by_day[date(2026, 3, 14)].amount == Decimal("2000.00")
        assert by_day[date(2026, 3, 11)].amount == Decimal("1989.99")  # 2000.00 − 10.01
        assert by_day[ANCHOR_DAY].drift == Decimal("1000.00") - Decimal("1989.99")

    def test_the_banks_day_ahead_of_ours_ends_the_series(self, db_session: Session, account: Account) -> None:
        _snapshot(db_session, account, date(2026, 3, 16), "1010.01")
        days = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)
        assert days[-1].day == date(2026, 3, 16)
        assert days[-1].amount == Decimal("1010.01")
        assert not days[-1].derived
        assert _series(days)[:14] == [(d, a, r, x) for d, a, r, x in _expected_days()]

    def test_a_range_keeps_the_values_of_the_whole_history(self, db_session: Session, account: Account) -> None:
        inner = daily_balances(
            db_session, account.id, today=TODAY, date_from=date(2026, 3, 4), date_to=date(2026, 3, 6)
        )
        assert _series(inner) == _expected_days()[3:6]
        after = daily_balances(db_session, account.id, today=TODAY, date_from=date(2026, 3, 12), date_to=None)
        assert _series(after) == _expected_days()[11:]
        before = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=date(2026, 2, 1))
        assert before == []

    def test_exact_decimals(self, db_session: Session, user: User) -> None:
        account = create_account(db_session, connection=create_connection(db_session, user=user), currency="EUR")
        _snapshot(db_session, account, TODAY, "0.30")
        _booked(db_session, account, TODAY - timedelta(days=1), "0.1")
        _booked(db_session, account, TODAY, "0.20")
        _booked(db_session, account, TODAY, "0.000000001")
        days = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)
        assert [format(d.amount, "f") for d in days] == ["0.099999999", "0.30"]

    @pytest.mark.parametrize("kind", [None, "interimAvailable", "expected", "openingBooked"])
    def test_without_a_booked_balance_there_is_no_series(
        self, db_session: Session, user: User, kind: str | None
    ) -> None:
        account = create_account(db_session, connection=create_connection(db_session, user=user), currency="EUR")
        _booked(db_session, account, TODAY, "10.00")
        if kind is not None:
            _snapshot(db_session, account, TODAY, "10.00", kind=kind)
        assert daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None) == []

    def test_an_open_range_answers_its_newest_days_up_to_the_cap(self, db_session: Session, user: User) -> None:
        account = create_account(db_session, connection=create_connection(db_session, user=user), currency="EUR")
        _snapshot(db_session, account, TODAY, "1.00")
        _booked(db_session, account, TODAY - timedelta(days=MAX_DAYS + 100), "1.00")
        days = daily_balances(db_session, account.id, today=TODAY, date_from=None, date_to=None)
        assert len(days) == MAX_DAYS
        assert days[-1].day == TODAY
        assert days[0].day == TODAY - timedelta(days=MAX_DAYS - 1)

    def test_runs_again_and_again_on_one_pooled_connection_under_generic_plans(
        self, db_session: Session, account: Account
    ) -> None:
        """psycopg prepares the statement from its sixth run and PostgreSQL plans it generically from then on (forced
        here): a parameter it cannot type the same way every time fails from the eleventh run, nowhere earlier."""
        db_session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        ranges = [
            (None, None),
            (date(2026, 3, 4), date(2026, 3, 6)),
            (None, date(2026, 3, 12)),
            (date(2026, 3, 9), None),
        ]
        # psycopg prepares per parameter types (a missing day is sent untyped), so each shape runs its own rounds.
        for date_from, date_to in ranges:
            expected = [row for row in _expected_days() if (date_from is None or row[0] >= date_from.isoformat())]
            expected = [row for row in expected if date_to is None or row[0] <= date_to.isoformat()]
            for round_number in range(ROUNDS):
                days = daily_balances(db_session, account.id, today=TODAY, date_from=date_from, date_to=date_to)
                assert _series(days) == expected, (date_from, date_to, round_number)
        prepared = db_session.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%booked_through%'"
            )
        ).all()
        assert len(prepared) == len(ranges), "the statement was not prepared: the rounds proved nothing"
        assert all(generic > 0 and custom == 0 for generic, custom in prepared), prepared


class TestDailyBalancesEndpoint:
    def test_one_item_per_day_with_exact_amounts(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        _snapshot(db_session, account, date(2026, 3, 5), "1050.25")
        response = client.get(
            f"/api/accounts/{account.id}/balances/daily",
            params={"from": "2026-03-04", "to": "2026-03-10"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        assert body["items"][:2] == [
            {"date": "2026-03-04", "amount": "1150.75", "currency": "EUR", "derived": True, "reported": None,
             "drift": None},
            {"date": "2026-03-05", "amount": "1030.25", "currency": "EUR", "derived": True, "reported": "1050.25",
             "drift": "20.00"},
        ]  # fmt: skip
        assert body["items"][-1] == {
            "date": "2026-03-10",
            "amount": "1000.00",
            "currency": "EUR",
            "derived": False,
            "reported": "1000.00",
            "drift": None,
        }
        assert len(body["items"]) == 7

    def test_the_whole_history_up_to_today(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        items = client.get(f"/api/accounts/{account.id}/balances/daily", headers=headers).json()["items"]
        assert items[0]["date"] == "2026-03-01"
        assert items[-1]["date"] == clock.now().date().isoformat()
        assert len(items) == (date.fromisoformat(items[-1]["date"]) - date(2026, 3, 1)).days + 1
        assert items[-1]["amount"] == "1010.01"

    def test_an_account_without_a_booked_balance_answers_empty(
        self, client: TestClient, headers: dict[str, str], db_session: Session, user: User
    ) -> None:
        account = create_account(db_session, connection=create_connection(db_session, user=user))
        _booked(db_session, account, date(2026, 3, 1), "1.00")
        response = client.get(f"/api/accounts/{account.id}/balances/daily", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    def test_another_users_account_is_not_found(
        self, client: TestClient, db_session: Session, account: Account
    ) -> None:
        stranger = auth_headers(create_user_with_password(db_session))
        response = client.get(f"/api/accounts/{account.id}/balances/daily", headers=stranger)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"

    @pytest.mark.parametrize(
        "params",
        [{"from": "2026-02-01", "to": "2026-01-31"}, {"from": "2000-01-01", "to": "2026-01-31"}],
        ids=["from-after-to", "longer-than-the-cap"],
    )
    def test_a_bad_range_is_refused(
        self, client: TestClient, headers: dict[str, str], account: Account, params: dict[str, str]
    ) -> None:
        response = client.get(f"/api/accounts/{account.id}/balances/daily", params=params, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_date_range"
        assert response.json()["detail"]

    def test_needs_a_token(self, client: TestClient, account: Account) -> None:
        assert client.get(f"/api/accounts/{account.id}/balances/daily").status_code == 401


@pytest.fixture
def ingest(pipeline_database: Engine, sandbox: SandboxControl) -> Iterator[Ingest]:
    with ingest_into(pipeline_database, sandbox) as handle:
        yield handle


def _derived(engine: Engine, account_id: object, today: date) -> list[DailyBalance]:
    with Session(bind=engine) as session:
        return daily_balances(session, account_id, today=today, date_from=None, date_to=None)  # type: ignore[arg-type]


class TestAfterAFirstSync:
    def test_the_series_covers_the_history_and_ends_on_the_banks_closing_balance(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, max_historical_days=90)
        ingest.sync(connection_id)
        bank_today = date.fromisoformat(sandbox.clock()["today"])
        accounts = rows(
            pipeline_database, "SELECT id, balance_amount, balance_type FROM accounts ORDER BY created_at, id"
        )
        assert accounts
        for account_id, balance, balance_type in accounts:
            assert balance_type == "closingBooked"
            [(first_booked,)] = rows(
                pipeline_database,
                "SELECT min(booking_date) FROM transactions WHERE account_id = :a AND status = 'booked'",
                a=account_id,
            )
            days = _derived(pipeline_database, account_id, bank_today)
            assert days[0].day == first_booked
            assert days[-1].day == bank_today
            assert days[-1].amount == balance
            assert not days[-1].derived
            assert len(days) == (bank_today - first_booked).days + 1 > 60  # the whole import, from one sync
            assert all(d.drift is None for d in days)  # the sandbox's balances reconcile

    def test_a_transaction_the_bank_keeps_from_us_is_the_ingest_checks_drift(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        """The same rule as the balance drift check (`src/ingest/drift.py`): a booked transaction hidden between two
        closing balances shows, on the older balance's day, as that check's difference (with the sign of reported −
        derived)."""
        sandbox.set_limits(account_daily=100)
        connection_id = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        ingest.sync(connection_id)
        first_day = sandbox.clock()["today"]
        sandbox.advance_clock(days=3)
        account_id, gc_id = rows(pipeline_database, "SELECT id, provider_id FROM accounts ORDER BY created_at, id")[0]
        _, hidden = advance_until(sandbox, [str(gc_id)], booked_with_id_after(first_day))
        sandbox.hide_transaction(str(gc_id), str(hidden["transactionId"]))
        ingest.sync(connection_id)
        [found] = ingest.drifts(connection_id)
        assert found.difference == Decimal(str(hidden["transactionAmount"]["amount"]))
        days = _derived(pipeline_database, account_id, date.fromisoformat(sandbox.clock()["today"]))
        drifted = [(d.day, d.drift) for d in days if d.drift is not None]
        assert drifted == [(date.fromisoformat(first_day), -found.difference)]
