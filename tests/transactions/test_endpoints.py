"""`GET /api/transactions` over HTTP: `client` (tests/transactions/conftest.py) on the test's rolled-back session,
with real bearer tokens; rows come from tests/factories.py.

A search is answered one of three ways (src/transactions/repository.py explains how one is chosen): the
`strategy` fixture runs the search tests under each of them, forced, and under the choice as made.
"""

import base64
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from src.models import Account, Transaction, User
from src.models.enums import TransactionStatus
from src.transactions import repository
from tests.factories import auth_headers, create_account, create_connection, create_transaction

DAY = date(2026, 6, 15)


def _tx(
    session: Session,
    account: Account,
    *,
    day: date = DAY,
    amount: str = "-12.34",
    status: TransactionStatus = TransactionStatus.booked,
    description: str = "Card payment",
    counterparty: str | None = "Corner Shop",
    booked_as: Transaction | None = None,
) -> Transaction:
    row = create_transaction(
        session,
        account=account,
        amount=Decimal(amount),
        booking_date=day,
        status=status,
        description=description,
        counterparty_name=counterparty,
    )
    if booked_as is not None:
        row.booked_as_id = booked_as.id
        session.flush()
    return row


def _list(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/transactions", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    return [item["id"] for item in _list(client, headers, **params)["items"]]


def _all_pages(client: TestClient, headers: dict[str, str], cursor: str | None = None, **params: Any) -> list[int]:
    """Follows `next_cursor` from `cursor` (or the first page) to the end."""
    seen: list[int] = []
    for _ in range(1000):
        body = _list(client, headers, **params, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ran out")


def _newest_first(rows: list[Transaction]) -> list[int]:
    return [row.id for row in sorted(rows, key=lambda row: (row.booking_date, row.id), reverse=True)]


@pytest.fixture
def accounts(db_session: Session, user: User) -> list[Account]:
    connection = create_connection(db_session, user=user)
    return [create_account(db_session, connection=connection) for _ in range(3)]


@pytest.fixture(params=["planner", "walk", "sorted", "window", "sampled"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way of answering a search, forced (`planner`: as chosen; `window`: first the matches booked since
    2026-06-10, so that some pages come from the window and the rest from the fallback; `sampled`: a walk looks
    cheapest, so a search of several words measures its selectivity on a 3-row sample first)."""
    forced = {
        "walk": repository._Strategy(walk=True),
        "sorted": repository._Strategy(walk=False),
        "window": repository._Strategy(walk=False, window_from=date(2026, 6, 10)),
    }
    if request.param in forced:
        monkeypatch.setattr(repository, "_choose", lambda *_: forced[request.param])
    elif request.param == "sampled":
        monkeypatch.setattr(repository, "WALKED_ROW_COST", 0.0)
        monkeypatch.setattr(repository, "BRANCH_COST", 0.0)
        monkeypatch.setattr(repository, "_SAMPLE", 3)
    return str(request.param)


class TestShape:
    def test_every_field_with_exact_amounts(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        amounts = ["-0.01", "1234567890.12", "0.00000000", "100", "-98765.4321"]
        rows = [_tx(db_session, accounts[0], amount=a, day=DAY - timedelta(days=n)) for n, a in enumerate(amounts)]
        rows[0].value_date = DAY - timedelta(days=1)
        rows[0].transaction_id = "bank-1"
        rows[0].counterparty_account = "GB29NWBK60161331926819"
        db_session.flush()
        body = _list(client, headers)
        assert body["next_cursor"] is None
        assert [item["amount"] for item in body["items"]] == amounts
        assert body["items"][0] == {
            "id": rows[0].id,
            "account_id": str(accounts[0].id),
            "status": "booked",
            "booking_date": "2026-06-15",
            "value_date": "2026-06-14",
            "date_is_estimated": False,
            "amount": "-0.01",
            "currency": "EUR",
            "description": "Card payment",
            "counterparty_name": "Corner Shop",
            "counterparty_account": "GB29NWBK60161331926819",
            "transaction_id": "bank-1",
            "booked_as_id": None,
        }

    def test_a_user_without_accounts_gets_an_empty_page(self, client: TestClient, headers: dict[str, str]) -> None:
        assert _list(client, headers) == {"items": [], "next_cursor": None}

    def test_needs_a_token(self, client: TestClient) -> None:
        response = client.get("/api/transactions")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


class TestPaging:
    @pytest.mark.parametrize("limit", [1, 7, 50])
    def test_every_row_exactly_once_newest_first(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account], limit: int
    ) -> None:
        # 300 rows on 20 days: many share a day, so the id breaks the ties, across accounts too.
        rows = [
            _tx(db_session, accounts[n % 3], day=DAY - timedelta(days=(n * 7) % 20), amount=f"-{n}.00")
            for n in range(300)
        ]
        assert _all_pages(client, headers, limit=limit) == _newest_first(rows)

    def test_pages_of_one_account_and_of_a_date_range(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        rows = [_tx(db_session, accounts[n % 3], day=DAY - timedelta(days=n % 40)) for n in range(240)]
        mine = [row for row in rows if row.account_id == accounts[1].id]
        assert _all_pages(client, headers, limit=9, account_id=str(accounts[1].id)) == _newest_first(mine)
        window = [row for row in mine if DAY - timedelta(days=30) <= row.booking_date <= DAY - timedelta(days=10)]
        pages = _all_pages(
            client,
            headers,
            limit=4,
            account_id=str(accounts[1].id),
            date_from=(DAY - timedelta(days=30)).isoformat(),
            date_to=(DAY - timedelta(days=10)).isoformat(),
        )
        assert pages == _newest_first(window)

    def test_a_cursor_is_stable_while_rows_arrive(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        rows = [_tx(db_session, accounts[n % 3], day=DAY - timedelta(days=n % 25)) for n in range(90)]
        first = _list(client, headers, limit=10)
        cursor = first["next_cursor"]
        last_seen = next(row for row in rows if row.id == first["items"][-1]["id"])
        # A sync brings older rows (a late-booked history) and newer ones, with ids above every existing one.
        older = [_tx(db_session, accounts[n % 3], day=DAY - timedelta(days=30 + n)) for n in range(5)]
        same_day = [_tx(db_session, accounts[n % 3], day=last_seen.booking_date) for n in range(3)]
        newer = [_tx(db_session, accounts[n % 3], day=DAY + timedelta(days=1)) for n in range(5)]
        rest = _all_pages(client, headers, limit=10, cursor=cursor)
        seen = [item["id"] for item in first["items"]] + rest
        # Every row that existed comes exactly once, in order; rows that sort before the cursor (newer, or the
        # same day with a higher id) are not slipped into later pages; older ones appear where they belong.
        assert len(seen) == len(set(seen))
        assert seen == _newest_first(rows + older)
        assert not {row.id for row in newer + same_day} & set(seen)
        assert _all_pages(client, headers, limit=10) == _newest_first(rows + older + same_day + newer)

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage!",
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
            base64.urlsafe_b64encode(json.dumps({"d": "2026-01-01"}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"d": "yesterday", "i": 5}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"d": "2026-01-01", "i": "5"}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"d": "2026-01-01", "i": 2**70}).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps({"d": "2026-01-01", "i": True}).encode()).decode(),
        ],
    )
    def test_a_bad_cursor_answers_400(
        self, client: TestClient, headers: dict[str, str], accounts: list[Account], cursor: str
    ) -> None:
        response = client.get("/api/transactions", params={"cursor": cursor}, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_cursor"

    @pytest.mark.parametrize("limit", [0, 501, -1])
    def test_limit_out_of_range_answers_422(self, client: TestClient, headers: dict[str, str], limit: int) -> None:
        response = client.get("/api/transactions", params={"limit": limit}, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_limit_500_is_allowed(self, client: TestClient, headers: dict[str, str], accounts: list[Account]) -> None:
        assert _list(client, headers, limit=500)["items"] == []


class TestFilters:
    def test_by_accounts_repeatable(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        rows = [_tx(db_session, account) for account in accounts]
        assert _ids(client, headers, account_id=str(accounts[0].id)) == [rows[0].id]
        both = _ids(client, headers, account_id=[str(accounts[0].id), str(accounts[2].id)])
        assert both == [rows[2].id, rows[0].id]

    def test_by_booking_date(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        rows = [_tx(db_session, accounts[0], day=DAY - timedelta(days=n)) for n in range(10)]
        between = _ids(client, headers, date_from="2026-06-08", date_to="2026-06-12")
        assert between == [row.id for row in rows[3:8]]
        assert _ids(client, headers, date_from="2026-06-14") == [rows[0].id, rows[1].id]
        assert _ids(client, headers, date_to="2026-06-06") == [rows[9].id]
        assert _ids(client, headers, date_from="2026-06-15", date_to="2026-06-15") == [rows[0].id]

    def test_date_from_after_date_to_answers_400(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(
            "/api/transactions", params={"date_from": "2026-02-01", "date_to": "2026-01-01"}, headers=headers
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_date_range"

    def test_by_amount(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        amounts = ["-100.00", "-0.01", "0.00", "0.01", "1234567890.12"]
        rows = {a: _tx(db_session, accounts[0], amount=a, day=DAY - timedelta(days=n)) for n, a in enumerate(amounts)}
        assert _ids(client, headers, min_amount="0") == [rows["0.00"].id, rows["0.01"].id, rows["1234567890.12"].id]
        assert _ids(client, headers, max_amount="-0.01") == [rows["-100.00"].id, rows["-0.01"].id]
        assert _ids(client, headers, min_amount="-0.01", max_amount="0.01") == [
            rows[a].id for a in ("-0.01", "0.00", "0.01")
        ]
        assert _ids(client, headers, min_amount="1234567890.12") == [rows["1234567890.12"].id]

    def test_min_above_max_answers_400(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/api/transactions", params={"min_amount": "5", "max_amount": "-5"}, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_amount_range"

    @pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "1e100000", "0.000000001"])
    def test_an_unusable_amount_answers_422(self, client: TestClient, headers: dict[str, str], value: str) -> None:
        response = client.get("/api/transactions", params={"min_amount": value}, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_status_defaults_to_booked_and_pending(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        booked = _tx(db_session, accounts[0], day=DAY - timedelta(days=2))
        pending = _tx(db_session, accounts[0], day=DAY - timedelta(days=1), status=TransactionStatus.pending)
        void = _tx(db_session, accounts[0], day=DAY, status=TransactionStatus.void)
        assert _ids(client, headers) == [pending.id, booked.id]
        assert _ids(client, headers, status="void") == [void.id]
        assert _ids(client, headers, status="booked") == [booked.id]
        assert _ids(client, headers, status=["void", "booked"]) == [void.id, booked.id]
        assert _ids(client, headers, status=["booked", "pending", "void"]) == [void.id, pending.id, booked.id]

    def test_an_unknown_status_answers_422(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/api/transactions", params={"status": "cleared"}, headers=headers)
        assert response.status_code == 422

    def test_superseded_pending_rows_only_when_asked_for(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        booked = _tx(db_session, accounts[0], day=DAY)
        superseded = _tx(
            db_session, accounts[0], day=DAY - timedelta(days=1), status=TransactionStatus.pending, booked_as=booked
        )
        assert _ids(client, headers) == [booked.id]
        assert _ids(client, headers, include_superseded="true") == [booked.id, superseded.id]
        items = _list(client, headers, include_superseded="true")["items"]
        assert items[1]["booked_as_id"] == booked.id
        assert _ids(client, headers, status="booked", include_superseded="true") == [booked.id]
        assert _ids(client, headers, status="void", include_superseded="true") == []

    def test_combined(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        wanted = _tx(db_session, accounts[1], day=DAY - timedelta(days=3), amount="-20.00", description="Żabka")
        _tx(db_session, accounts[0], day=DAY - timedelta(days=3), amount="-20.00", description="Żabka")  # account
        _tx(db_session, accounts[1], day=DAY - timedelta(days=20), amount="-20.00", description="Żabka")  # date
        _tx(db_session, accounts[1], day=DAY - timedelta(days=3), amount="-200.00", description="Żabka")  # amount
        _tx(db_session, accounts[1], day=DAY - timedelta(days=3), amount="-20.00", description="Lidl")  # text
        _tx(
            db_session,
            accounts[1],
            day=DAY - timedelta(days=3),
            amount="-20.00",
            description="Żabka",
            status=TransactionStatus.void,
        )  # status
        params = {
            "account_id": str(accounts[1].id),
            "date_from": (DAY - timedelta(days=7)).isoformat(),
            "date_to": DAY.isoformat(),
            "min_amount": "-50",
            "max_amount": "-10",
            "q": "żabka",
        }
        assert _ids(client, headers, **params) == [wanted.id]
        assert _ids(client, headers, **params, status=["booked", "void"]) != [wanted.id]


class TestSearch:
    @pytest.fixture
    def rows(self, db_session: Session, accounts: list[Account]) -> dict[str, Transaction]:
        specs = {
            "zabka": ("Card payment ŻABKA Kraków", None),
            "zabka_lower": ("Contactless żabka", "Żabka Polska"),
            "cafe": ("Coffee", "Café Zürich"),
            "cafe_plain": ("CAFE BAR", None),
            "card": ("Card payment Tesco", "Tesco"),
            "nothing": ("Salary", "Acme Payroll"),
            "muller": ("Kartenzahlung Müller", "Müller Drogerie"),
            "nordsjo": ("Kortköp Nordsjö Fisk", "Nordsjö Fisk AB"),
        }
        return {
            key: _tx(db_session, accounts[n % 3], day=DAY - timedelta(days=n), description=text, counterparty=name)
            for n, (key, (text, name)) in enumerate(specs.items())
        }

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("Żabka", ["zabka", "zabka_lower"]),
            ("żabka", ["zabka", "zabka_lower"]),
            ("ŻABKA kraków", ["zabka"]),
            ("café", ["cafe", "cafe_plain"]),  # accents folded on both sides
            ("CAFÉ zürich", ["cafe"]),
            ("cafe", ["cafe", "cafe_plain"]),
            ("zurich", ["cafe"]),
            ("coff", ["cafe"]),  # each word a prefix, as a person types
            ("krak", ["zabka"]),
            ("zab", ["zabka", "zabka_lower"]),
            ("card pay", ["zabka", "card"]),
            ("offee", []),  # the start of a word, not any part of it
            ("muller", ["muller"]),
            ("MÜLLER drog", ["muller"]),
            ("nordsj", ["nordsjo"]),
            ("kortkop fisk", ["nordsjo"]),
            ("polska", ["zabka_lower"]),  # the counterparty is searched too
            ("card payment", ["zabka", "card"]),
            ("payment salary", []),
            ("tesco", ["card"]),
            ("nowhere", []),
        ],
    )
    def test_finds_words_in_description_and_counterparty(
        self,
        client: TestClient,
        headers: dict[str, str],
        rows: dict[str, Transaction],
        strategy: str,
        q: str,
        expected: list[str],
    ) -> None:
        assert _ids(client, headers, q=q) == [rows[key].id for key in expected]

    def test_within_one_account(
        self, client: TestClient, headers: dict[str, str], rows: dict[str, Transaction], strategy: str
    ) -> None:
        account_id = str(rows["zabka_lower"].account_id)
        assert _ids(client, headers, q="żabka", account_id=account_id) == [rows["zabka_lower"].id]

    @pytest.mark.parametrize("q", ["!!!", "&"])
    def test_only_punctuation_matches_nothing(
        self, client: TestClient, headers: dict[str, str], rows: dict[str, Transaction], q: str
    ) -> None:
        assert _ids(client, headers, q=q) == []

    def test_blank_is_no_search(
        self, client: TestClient, headers: dict[str, str], rows: dict[str, Transaction]
    ) -> None:
        assert len(_ids(client, headers, q="   ")) == len(rows)

    def test_nul_answers_422(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/api/transactions", params={"q": "a\x00b"}, headers=headers)
        assert response.status_code == 422

    def test_pages_through_matches(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account], strategy: str
    ) -> None:
        rows = [
            _tx(
                db_session,
                accounts[n % 3],
                day=DAY - timedelta(days=n % 17),
                description=f"Card payment {'Żabka' if n % 4 == 0 else 'Lidl'} {n}",
            )
            for n in range(160)
        ]
        matching = [row for row in rows if "Żabka" in (row.description or "")]
        assert _all_pages(client, headers, q="żabka", limit=6) == _newest_first(matching)
        assert _all_pages(client, headers, q="card żabka", limit=6) == _newest_first(matching)


class TestIsolation:
    def test_another_users_account_answers_404(
        self, client: TestClient, headers: dict[str, str], db_session: Session, accounts: list[Account]
    ) -> None:
        foreign = create_account(db_session)
        _tx(db_session, foreign)
        for account_ids in ([foreign.id], [accounts[0].id, foreign.id], [uuid.uuid4()]):
            response = client.get(
                "/api/transactions", params={"account_id": [str(a) for a in account_ids]}, headers=headers
            )
            assert response.status_code == 404
            assert response.json()["code"] == "account_not_found"

    def test_only_the_callers_rows_are_listed(
        self, client: TestClient, db_session: Session, user: User, accounts: list[Account]
    ) -> None:
        mine = _tx(db_session, accounts[0])
        other_user_account = create_account(db_session)
        theirs = _tx(db_session, other_user_account)
        assert _ids(client, auth_headers(user)) == [mine.id]
        assert theirs.id not in _ids(client, auth_headers(user), q="card")

    def test_a_malformed_account_id_is_a_validation_error(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/api/transactions", params={"account_id": "nope"}, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
