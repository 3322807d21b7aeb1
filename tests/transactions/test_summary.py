"""`GET /api/transactions/summary`, the direction and size filters, and `GET /api/transactions/{id}` over HTTP, on
the test's rolled-back session (tests/conftest.py), rows from tests/factories.py.

The summary's promise is that it adds up exactly what the listing lists for the same filters, over every page:
the tests page through the listing and add the rows themselves (exact decimals), then compare.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from src.models import Account, Transaction, User
from src.models.enums import TransactionStatus
from src.transactions.repository import Direction, RowFilter, fetch_summary
from src.transactions.service import DEFAULT_STATUSES
from tests.factories import auth_headers, create_account, create_connection, create_transaction

DAY = date(2026, 6, 15)
ROUNDS = 15  # past psycopg's prepare (after 5 runs) and PostgreSQL's choice of a generic plan (5 more)


def _tx(
    session: Session,
    account: Account,
    *,
    amount: str,
    day: date = DAY,
    status: TransactionStatus = TransactionStatus.booked,
    description: str = "Card payment",
    counterparty: str | None = "Corner Shop",
) -> Transaction:
    return create_transaction(
        session,
        account=account,
        amount=Decimal(amount),
        booking_date=day,
        status=status,
        description=description,
        counterparty_name=counterparty,
    )


def _get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _listed(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every row the listing lists for `params`, following `next_cursor` page by page (7 rows a page)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        body = _get(client, headers, "/api/transactions", **params, limit=7, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ran out")


def _added_up(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The listed rows counted and summed per currency, as the summary should answer (compared as Decimals)."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        amount = Decimal(item["amount"])
        counts[item["currency"]] += 1
        sums[item["currency"]][0 if amount > 0 else 1] += amount if amount else 0
        sums[item["currency"]][2] += amount
    return {
        "count": len(items),
        "totals": [
            {"currency": c, "count": counts[c], "amount_in": s[0], "amount_out": s[1], "net": s[2]}
            for c, s in sorted(sums.items())
        ],
    }


def _as_decimals(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "count": summary["count"],
        "totals": [
            {**total, **{key: Decimal(total[key]) for key in ("amount_in", "amount_out", "net")}}
            for total in summary["totals"]
        ],
    }


@pytest.fixture
def accounts(db_session: Session, user: User) -> list[Account]:
    connection = create_connection(db_session, user=user)
    return [
        create_account(db_session, connection=connection, currency="EUR"),
        create_account(db_session, connection=connection, currency="EUR"),
        create_account(db_session, connection=connection, currency="SEK"),
    ]


@pytest.fixture
def rows(db_session: Session, accounts: list[Account]) -> list[Transaction]:
    """60 rows over three accounts (two EUR, one SEK) and 30 days: money in and out of many sizes (a zero among
    them, amounts of up to 8 decimals), every status, and pending items superseded by their booked row."""
    texts = [("Card payment Żabka", "Żabka"), ("Salary", "Acme Payroll"), ("Coffee", "Café Zürich"), ("Refund", None)]
    amounts = ["-12.34", "2500.00", "-4.20", "19.99", "-100.00", "0.00", "-0.01", "-99.99999999", "1234567.89"]
    statuses = [TransactionStatus.booked] * 6 + [TransactionStatus.pending, TransactionStatus.void]
    made = []
    for n in range(60):
        description, counterparty = texts[n % len(texts)]
        made.append(
            _tx(
                db_session,
                accounts[n % 3],
                amount=amounts[n % len(amounts)],
                day=DAY - timedelta(days=n % 30),
                status=statuses[n % len(statuses)],
                description=description,
                counterparty=counterparty,
            )
        )
    for pending, booked in ((made[6], made[9]), (made[14], made[20])):
        pending.booked_as_id = booked.id
    db_session.flush()
    return made


FILTERS: list[dict[str, Any]] = [
    {},
    {"direction": "in"},
    {"direction": "out"},
    {"min_size": "20"},
    {"max_size": "19.99"},
    {"direction": "out", "min_size": "4.20", "max_size": "100"},
    {"direction": "in", "min_size": "0.01"},
    {"min_amount": "-50", "max_amount": "50"},
    {"status": "pending"},
    {"status": "void"},
    {"status": ["booked", "pending", "void"], "include_superseded": "true"},
    {"include_superseded": "true"},
    {"q": "zab"},
    {"q": "café zur", "direction": "out"},
    {"q": "salary", "status": ["booked", "void"]},
    {"date_from": "2026-06-01", "date_to": "2026-06-10"},
    {"date_from": "2026-06-10", "max_size": "100", "direction": "out", "q": "card"},
]


class TestSummaryAddsUpTheListing:
    @pytest.mark.parametrize("params", FILTERS, ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()))
    def test_for_the_same_filters(
        self, client: TestClient, headers: dict[str, str], rows: list[Transaction], params: dict[str, Any]
    ) -> None:
        listed = _listed(client, headers, **params)
        assert listed  # each filter finds some rows, and leaves some out
        assert len(listed) < len(rows) or params.get("include_superseded")
        summary = _get(client, headers, "/api/transactions/summary", **params)
        assert _as_decimals(summary) == _added_up(listed)

    def test_per_account(
        self, client: TestClient, headers: dict[str, str], rows: list[Transaction], accounts: list[Account]
    ) -> None:
        for chosen in ([accounts[0]], [accounts[0], accounts[2]], [accounts[2]]):
            params = {"account_id": [str(account.id) for account in chosen]}
            listed = _listed(client, headers, **params)
            assert listed
            assert _as_decimals(_get(client, headers, "/api/transactions/summary", **params)) == _added_up(listed)

    def test_currencies_are_kept_apart_and_amounts_exact(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        for amount in ("0.10", "0.20", "-0.30", "-1234567890.12345678"):
            _tx(db_session, accounts[0], amount=amount)
        for amount in ("100", "-0.5"):
            _tx(db_session, accounts[2], amount=amount)
        summary = _get(client, headers, "/api/transactions/summary")
        assert summary["count"] == 6
        eur, sek = summary["totals"]
        assert (eur["currency"], eur["count"], sek["currency"], sek["count"]) == ("EUR", 4, "SEK", 2)
        assert Decimal(eur["amount_in"]) == Decimal("0.30")  # 0.1 + 0.2, no float in the way
        assert Decimal(eur["amount_out"]) == Decimal("-1234567890.42345678")
        assert Decimal(eur["net"]) == Decimal("-1234567890.12345678")
        assert (Decimal(sek["amount_in"]), Decimal(sek["amount_out"]), Decimal(sek["net"])) == (
            Decimal("100"),
            Decimal("-0.5"),
            Decimal("99.5"),
        )
        assert all(isinstance(total[key], str) for total in summary["totals"] for key in ("amount_in", "net"))

    def test_money_only_one_way_sums_zero_the_other(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        _tx(db_session, accounts[0], amount="-5.00")
        (total,) = _get(client, headers, "/api/transactions/summary")["totals"]
        assert (total["amount_in"], total["amount_out"], total["net"]) == ("0", "-5.00", "-5.00")

    def test_pending_void_and_superseded_as_the_listing_counts_them(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        booked = _tx(db_session, accounts[0], amount="-10.00")
        pending = _tx(db_session, accounts[0], amount="-20.00", status=TransactionStatus.pending)
        superseded = _tx(db_session, accounts[0], amount="-10.00", status=TransactionStatus.pending)
        superseded.booked_as_id = booked.id
        _tx(db_session, accounts[0], amount="-40.00", status=TransactionStatus.void)
        db_session.flush()

        def summary(**params: Any) -> tuple[int, str]:
            body = _get(client, headers, "/api/transactions/summary", **params)
            return body["count"], body["totals"][0]["net"] if body["totals"] else "none"

        assert summary() == (2, "-30.00")  # booked and pending; the superseded one is its booked row
        assert summary(include_superseded="true") == (3, "-40.00")
        assert summary(status="void") == (1, "-40.00")
        assert summary(status="pending") == (1, "-20.00")
        assert summary(status="booked", include_superseded="true") == (1, "-10.00")
        assert pending.id in [item["id"] for item in _listed(client, headers, status="pending")]

    def test_no_account_and_no_match_answer_zero(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        assert _get(client, headers, "/api/transactions/summary") == {"count": 0, "totals": []}
        _tx(db_session, accounts[0], amount="-1.00")
        assert _get(client, headers, "/api/transactions/summary", q="nowhere") == {"count": 0, "totals": []}
        assert _get(client, headers, "/api/transactions/summary", q="!!!") == {"count": 0, "totals": []}

    def test_only_the_callers_rows(
        self, client: TestClient, db_session: Session, user: User, accounts: list[Account]
    ) -> None:
        _tx(db_session, accounts[0], amount="-1.00")
        _tx(db_session, create_account(db_session), amount="-1000.00")
        body = _get(client, auth_headers(user), "/api/transactions/summary")
        assert (body["count"], body["totals"][0]["net"]) == (1, "-1.00")


class TestDirectionAndSize:
    def test_money_out_lists_only_negative_amounts_by_size(
        self, client: TestClient, headers: dict[str, str], rows: list[Transaction]
    ) -> None:
        out = _listed(client, headers, direction="out")
        assert out
        assert all(Decimal(item["amount"]) < 0 for item in out)
        money_in = _listed(client, headers, direction="in")
        assert money_in
        assert all(Decimal(item["amount"]) > 0 for item in money_in)
        everything = _listed(client, headers)
        # A zero amount is neither in nor out, and listed with neither direction.
        assert len(out) + len(money_in) == len([item for item in everything if Decimal(item["amount"]) != 0])
        sized = _listed(client, headers, direction="out", min_size="4.20", max_size="100")
        assert {item["amount"] for item in sized} == {"-4.20", "-12.34", "-99.99999999", "-100.00"}

    def test_size_is_the_amount_without_its_sign(
        self, client: TestClient, headers: dict[str, str], rows: list[Transaction]
    ) -> None:
        assert {item["amount"] for item in _listed(client, headers, min_size="100", max_size="2500")} == {
            "-100.00",
            "2500.00",
        }
        assert {item["amount"] for item in _listed(client, headers, max_size="0.01")} == {"0.00", "-0.01"}

    def test_signed_filters_still_work(
        self, client: TestClient, headers: dict[str, str], rows: list[Transaction]
    ) -> None:
        amounts = {item["amount"] for item in _listed(client, headers, min_amount="-5", max_amount="20")}
        assert amounts == {"-4.20", "19.99", "0.00", "-0.01"}

    @pytest.mark.parametrize("path", ["/api/transactions", "/api/transactions/summary"])
    @pytest.mark.parametrize(
        ("params", "status", "code", "said"),
        [
            ({"min_size": "-5"}, 422, "validation_error", "without a sign"),
            ({"max_size": "abc"}, 422, "validation_error", "without a sign"),
            ({"min_size": "1e3"}, 422, "validation_error", "without a sign"),
            ({"min_size": "0.000000001"}, 422, "validation_error", "without a sign"),
            ({"direction": "sideways"}, 422, "validation_error", "'in' or 'out'"),
            ({"min_size": "100", "max_size": "20"}, 400, "invalid_amount_range", "minimum size"),
            ({"min_amount": "5", "max_amount": "-5"}, 400, "invalid_amount_range", "minimum amount"),
            ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, 400, "invalid_date_range", "start date"),
            ({"status": "cleared"}, 422, "validation_error", "status"),
        ],
    )
    def test_bad_input_answers_4xx_saying_why(
        self,
        client: TestClient,
        headers: dict[str, str],
        accounts: list[Account],
        path: str,
        params: dict[str, str],
        status: int,
        code: str,
        said: str,
    ) -> None:
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["code"] == code
        assert said in response.json()["detail"]

    def test_another_users_account_answers_404(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        foreign = create_account(db_session)
        response = client.get("/api/transactions/summary", params={"account_id": str(foreign.id)}, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"

    def test_the_summary_takes_the_listings_filters_and_no_paging(self, client: TestClient) -> None:
        operations = client.get("/openapi.json").json()["paths"]
        listing = {p["name"] for p in operations["/api/transactions"]["get"]["parameters"]}
        summary = {p["name"] for p in operations["/api/transactions/summary"]["get"]["parameters"]}
        assert summary == listing - {"limit", "cursor"}
        assert {"direction", "min_size", "max_size", "min_amount", "q", "account_id"} <= summary


class TestDetails:
    def test_a_booked_row_names_the_pending_item_it_was_booked_from(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        booked = _tx(db_session, accounts[0], amount="-4.20", description="Coffee")
        booked.value_date = DAY - timedelta(days=1)
        booked.transaction_id = "bank-tx-1"
        booked.internal_transaction_id = "internal-7"
        booked.entry_reference = "ref-42"
        pending = _tx(
            db_session, accounts[0], amount="-4.20", day=DAY - timedelta(days=2), status=TransactionStatus.pending
        )
        pending.booked_as_id = booked.id
        db_session.flush()
        body = _get(client, headers, f"/api/transactions/{booked.id}")
        listed = {item["id"]: item for item in _listed(client, headers)}[booked.id]
        assert {key: body[key] for key in listed} == listed  # the listing's fields, as listed
        assert body["value_date"] == "2026-06-14"
        assert (body["transaction_id"], body["internal_transaction_id"], body["entry_reference"]) == (
            "bank-tx-1",
            "internal-7",
            "ref-42",
        )
        assert body["booked_from"]["id"] == pending.id
        assert body["booked_from"]["status"] == "pending"
        assert body["booked_from"]["booking_date"] == "2026-06-13"
        assert body["booked_from"]["booked_as_id"] == booked.id
        # and the pending item points at its booked row
        assert _get(client, headers, f"/api/transactions/{pending.id}")["booked_as_id"] == booked.id
        assert _get(client, headers, f"/api/transactions/{pending.id}")["booked_from"] is None

    def test_a_row_without_origin_or_bank_ids(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        void = _tx(db_session, accounts[0], amount="-1.00", status=TransactionStatus.void)
        body = _get(client, headers, f"/api/transactions/{void.id}")
        assert (body["status"], body["booked_from"], body["internal_transaction_id"]) == ("void", None, None)

    def test_another_users_or_no_transaction_answers_404(
        self, client: TestClient, db_session: Session, user: User, accounts: list[Account]
    ) -> None:
        theirs = _tx(db_session, create_account(db_session), amount="-1.00")
        mine = _tx(db_session, accounts[0], amount="-1.00")
        for transaction_id in (theirs.id, mine.id + 10_000, 2**63 - 1):
            response = client.get(f"/api/transactions/{transaction_id}", headers=auth_headers(user))
            assert response.status_code == 404
            assert response.json() == {"code": "transaction_not_found", "detail": "There is no such transaction."}

    @pytest.mark.parametrize("transaction_id", ["0", "-1", "abc", str(2**63)])
    def test_a_malformed_id_answers_422(self, client: TestClient, headers: dict[str, str], transaction_id: str) -> None:
        response = client.get(f"/api/transactions/{transaction_id}", headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


def _prepared(session: Session, fragment: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of each statement psycopg prepared on the session's connection that holds
    `fragment`."""
    rows = session.execute(text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")).all()
    return [(int(generic), int(custom)) for statement, generic, custom in rows if fragment in statement]


@pytest.mark.parametrize("plan_cache_mode", ["auto", "force_generic_plan"])
def test_the_summary_runs_again_and_again_on_one_pooled_connection(
    db_session: Session, accounts: list[Account], rows: list[Transaction], plan_cache_mode: str
) -> None:
    """psycopg prepares a statement from its sixth run on a connection, and PostgreSQL may plan it generically from
    the eleventh, its parameter types fixed at the prepare: a parameter it cannot type the same way twice fails only
    then. Each shape of filter runs 15 times (the session's own connection, from the pool), values changing."""
    db_session.execute(text(f"SET plan_cache_mode = {plan_cache_mode}"))  # undone with the test's transaction
    ids = [account.id for account in accounts]
    shapes: list[dict[str, Any]] = [
        {},
        {"direction": Direction.outgoing, "min_size": Decimal("4.20"), "max_size": Decimal("100")},
        {"q": "zab", "date_from": DAY - timedelta(days=20), "date_to": DAY},
        {"min_amount": Decimal("-50"), "max_amount": Decimal("50"), "direction": Direction.incoming},
    ]
    # One account (a different one each round) and all three: each its own SQL text, each run every round.
    first: dict[tuple[int, tuple[Any, ...]], list[Any]] = {}
    for round_number in range(ROUNDS):
        for n, extra in enumerate(shapes):
            for chosen in ([ids[round_number % 3]], ids):
                totals = fetch_summary(db_session, RowFilter(account_ids=chosen, statuses=DEFAULT_STATUSES, **extra))
                assert totals == first.setdefault((n, tuple(chosen)), totals), (round_number, extra, chosen)
    assert first[0, tuple(ids)]
    assert first[1, tuple(ids)]
    plans = _prepared(db_session, "GROUP BY transactions.currency")
    assert len(plans) == 2 * len(shapes), plans  # each shape prepared once: the same SQL text every round
    if plan_cache_mode == "force_generic_plan":
        assert all(generic > 0 and custom == 0 for generic, custom in plans), plans
