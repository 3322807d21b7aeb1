"""Accounts and balances over HTTP: `client` (tests/accounts/conftest.py) on the test's rolled-back session, with
real bearer tokens; rows come from tests/factories.py."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from src.models import Account, BalanceSnapshot, User
from tests.factories import auth_headers, create_account, create_connection, create_user_with_password

IBAN = "GB29NWBK60161331926819"


def _snapshot(session: Session, account: Account, day: date, amount: str) -> BalanceSnapshot:
    snapshot = BalanceSnapshot(
        account_id=account.id, as_of=day, type="closingBooked", amount=Decimal(amount), currency="EUR"
    )
    session.add(snapshot)
    session.flush()
    return snapshot


@pytest.fixture
def account(db_session: Session, user: User) -> Account:
    account = create_account(db_session, connection=create_connection(db_session, user=user), iban=IBAN, currency="GBP")
    account.balance_amount = Decimal("1234567890.12")
    account.balance_as_of = datetime(2026, 11, 24, tzinfo=UTC)
    db_session.flush()
    return account


@pytest.fixture
def stranger(db_session: Session) -> dict[str, str]:
    return auth_headers(create_user_with_password(db_session))


class TestListAccounts:
    def test_lists_the_callers_accounts_with_masked_ibans(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        create_account(db_session)  # someone else's
        response = client.get("/api/accounts", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["next_cursor"] is None
        assert [item["id"] for item in body["items"]] == [str(account.id)]
        item = body["items"][0]
        assert item["iban"] == "GB29 **** **** 6819"
        assert item["connection_id"] == str(account.connection_id)
        assert item["currency"] == "GBP"
        assert item["status"] == "active"
        assert item["hidden"] is False
        assert item["display_name"] is None
        assert item["balance"] == {
            "amount": "1234567890.12",
            "currency": "GBP",
            "type": "closingBooked",
            "as_of": "2026-11-24T00:00:00Z",
        }

    def test_an_account_without_a_balance_has_null(
        self, client: TestClient, headers: dict[str, str], db_session: Session, user: User
    ) -> None:
        create_account(db_session, connection=create_connection(db_session, user=user), balance_amount=None)
        [item] = client.get("/api/accounts", headers=headers).json()["items"]
        assert item["balance"] is None

    def test_hidden_accounts_are_listed_and_say_so(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        account.hidden = True
        db_session.flush()
        [item] = client.get("/api/accounts", headers=headers).json()["items"]
        assert item["hidden"] is True

    def test_filters_by_connection(
        self, client: TestClient, headers: dict[str, str], db_session: Session, user: User, account: Account
    ) -> None:
        other_connection = create_connection(db_session, user=user)
        other = create_account(db_session, connection=other_connection)
        everything = client.get("/api/accounts", headers=headers).json()["items"]
        assert {item["id"] for item in everything} == {str(account.id), str(other.id)}
        only = client.get("/api/accounts", params={"connection_id": str(other_connection.id)}, headers=headers)
        assert [item["id"] for item in only.json()["items"]] == [str(other.id)]

    def test_another_users_connection_answers_404(
        self, client: TestClient, headers: dict[str, str], db_session: Session
    ) -> None:
        foreign = create_connection(db_session)
        create_account(db_session, connection=foreign)
        for connection_id in (foreign.id, uuid.uuid4()):
            response = client.get("/api/accounts", params={"connection_id": str(connection_id)}, headers=headers)
            assert response.status_code == 404
            assert response.json()["code"] == "connection_not_found"

    def test_a_user_without_accounts_gets_an_empty_page(self, client: TestClient, headers: dict[str, str]) -> None:
        assert client.get("/api/accounts", headers=headers).json() == {"items": [], "next_cursor": None}

    def test_needs_a_token(self, client: TestClient) -> None:
        response = client.get("/api/accounts")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


class TestGetAccount:
    def test_shows_the_full_iban(self, client: TestClient, headers: dict[str, str], account: Account) -> None:
        response = client.get(f"/api/accounts/{account.id}", headers=headers)
        assert response.status_code == 200
        assert response.json()["iban"] == IBAN
        assert response.json()["balance"]["amount"] == "1234567890.12"

    def test_another_users_account_is_not_found(
        self, client: TestClient, stranger: dict[str, str], account: Account
    ) -> None:
        response = client.get(f"/api/accounts/{account.id}", headers=stranger)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"

    def test_an_unknown_account_is_not_found(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"/api/accounts/{uuid.uuid4()}", headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"

    def test_a_malformed_id_is_a_validation_error(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/api/accounts/not-a-uuid", headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


class TestUpdateAccount:
    def test_renames_and_hides(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        response = client.patch(
            f"/api/accounts/{account.id}", json={"display_name": "  Bills  ", "hidden": True}, headers=headers
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["display_name"], body["hidden"], body["iban"]) == ("Bills", True, IBAN)
        db_session.refresh(account)
        assert (account.display_name, account.hidden) == ("Bills", True)

    def test_only_the_fields_sent_change(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        client.patch(f"/api/accounts/{account.id}", json={"display_name": "Bills", "hidden": True}, headers=headers)
        response = client.patch(f"/api/accounts/{account.id}", json={"hidden": False}, headers=headers)
        assert (response.json()["display_name"], response.json()["hidden"]) == ("Bills", False)
        response = client.patch(f"/api/accounts/{account.id}", json={}, headers=headers)
        assert (response.json()["display_name"], response.json()["hidden"]) == ("Bills", False)

    @pytest.mark.parametrize("blank", ["", "   ", None])
    def test_a_blank_display_name_clears_it(
        self, client: TestClient, headers: dict[str, str], account: Account, blank: str | None
    ) -> None:
        client.patch(f"/api/accounts/{account.id}", json={"display_name": "Bills"}, headers=headers)
        response = client.patch(f"/api/accounts/{account.id}", json={"display_name": blank}, headers=headers)
        assert response.status_code == 200
        assert response.json()["display_name"] is None

    @pytest.mark.parametrize(
        "body",
        [{"hidden": None}, {"hidden": "maybe"}, {"display_name": "x" * 101}, {"display_name": "a\x00b"}, {"iban": "X"}],
    )
    def test_invalid_changes_are_refused(
        self, client: TestClient, headers: dict[str, str], account: Account, body: dict[str, object]
    ) -> None:
        response = client.patch(f"/api/accounts/{account.id}", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_another_users_account_is_not_found_and_unchanged(
        self, client: TestClient, stranger: dict[str, str], db_session: Session, account: Account
    ) -> None:
        response = client.patch(f"/api/accounts/{account.id}", json={"display_name": "Mine"}, headers=stranger)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"
        db_session.refresh(account)
        assert account.display_name is None


class TestBalances:
    def test_days_in_range_oldest_first_missing_days_absent(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        start = date(2026, 11, 1)
        for offset, amount in [(0, "10.00"), (1, "-0.01"), (3, "1234567890.12"), (6, "0.00000000"), (9, "5")]:
            _snapshot(db_session, account, start + timedelta(days=offset), amount)
        response = client.get(
            f"/api/accounts/{account.id}/balances",
            params={"from": "2026-11-02", "to": "2026-11-07"},
            headers=headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert body["next_cursor"] is None
        assert [(item["as_of"], item["amount"]) for item in body["items"]] == [
            ("2026-11-02", "-0.01"),
            ("2026-11-04", "1234567890.12"),
            ("2026-11-07", "0.00000000"),
        ]
        assert body["items"][0] == {
            "as_of": "2026-11-02",
            "type": "closingBooked",
            "amount": "-0.01",
            "currency": "EUR",
        }
        everything = client.get(f"/api/accounts/{account.id}/balances", headers=headers).json()["items"]
        assert len(everything) == 5

    def test_pages_through_a_long_history(
        self, client: TestClient, headers: dict[str, str], db_session: Session, account: Account
    ) -> None:
        days = [date(2025, 1, 1) + timedelta(days=n) for n in range(0, 30, 2)]
        for day in days:
            _snapshot(db_session, account, day, "1.00")
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
            body = client.get(f"/api/accounts/{account.id}/balances", params=params, headers=headers).json()
            seen += [item["as_of"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == [day.isoformat() for day in days]

    def test_from_after_to_is_refused(self, client: TestClient, headers: dict[str, str], account: Account) -> None:
        response = client.get(
            f"/api/accounts/{account.id}/balances", params={"from": "2026-02-01", "to": "2026-01-31"}, headers=headers
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_date_range"

    @pytest.mark.parametrize("cursor", ["garbage!", "e30", "eyJhc19vZiI6ICJub3QgYSBkYXRlIn0"])
    def test_a_bad_cursor_is_refused(
        self, client: TestClient, headers: dict[str, str], account: Account, cursor: str
    ) -> None:
        response = client.get(f"/api/accounts/{account.id}/balances", params={"cursor": cursor}, headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_cursor"

    def test_limit_above_500_is_refused(self, client: TestClient, headers: dict[str, str], account: Account) -> None:
        response = client.get(f"/api/accounts/{account.id}/balances", params={"limit": 501}, headers=headers)
        assert response.status_code == 422

    def test_another_users_account_is_not_found(
        self, client: TestClient, stranger: dict[str, str], db_session: Session, account: Account
    ) -> None:
        _snapshot(db_session, account, date(2026, 1, 1), "1.00")
        response = client.get(f"/api/accounts/{account.id}/balances", headers=stranger)
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"
