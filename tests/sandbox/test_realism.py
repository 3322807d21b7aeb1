"""The sandbox behaves like a bank behind GoCardless: histories move with the clock, balances add up, data is
deterministic, the daily allowance is a calendar day's, and the consent page links (or refuses) like the real flow.

Fixtures: `sandbox` (tests/harness/sandbox.py) is the sandbox server, reset before each test, with its `/_sandbox/`
controls (`link`, `advance_clock`, `set_faults`, …); `api` is an httpx client on the official API with a fresh access
token. Everything is read through the official paths; the controls only set the scene.
"""

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.harness.sandbox import SandboxControl, ok

SANDBOX_INSTITUTION = "SANDBOXFINANCE_SFIN0000"
# Banks in three currencies and both remittance styles; customers with one, two and three accounts.
INSTITUTIONS = (SANDBOX_INSTITUTION, "THISTLE_THSTGB2L", "RHEINBANK_RHBKDEFF", "WISLA_WSLAPLPW")
CUSTOMERS = ("alice", "bartek", "chloe", "dmitri")
CALLBACK = "http://127.0.0.1:9/callback"


@pytest.fixture
def api(sandbox: SandboxControl) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token()}"}
    with httpx.Client(base_url=sandbox.api_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def unlimited(sandbox: SandboxControl) -> None:
    """Lift the per-account daily allowance for tests that read the same account many times."""
    sandbox.set_limits(account_daily=10_000)


def _transactions(api: httpx.Client, account: str, **dates: date) -> dict[str, list[dict[str, Any]]]:
    params = {name: value.isoformat() for name, value in dates.items()}
    body = ok(api.get(f"/accounts/{account}/transactions/", params=params))
    transactions: dict[str, list[dict[str, Any]]] = body["transactions"]
    return {"booked": transactions["booked"], "pending": transactions.get("pending", [])}


def _balances(api: httpx.Client, account: str) -> dict[str, dict[str, Any]]:
    return {balance["balanceType"]: balance for balance in ok(api.get(f"/accounts/{account}/balances/"))["balances"]}


def _amount(item: dict[str, Any]) -> Decimal:
    return Decimal(item.get("transactionAmount", item.get("balanceAmount"))["amount"])


def _counterparty(item: dict[str, Any]) -> str | None:
    name: str | None = item.get("creditorName") or item.get("debtorName")
    return name


def _advance(sandbox: SandboxControl, api: httpx.Client, **by: float) -> None:
    """Move the sandbox's clock; the access token ages with it, so take a fresh one as a client would."""
    sandbox.advance_clock(**by)
    api.headers["Authorization"] = f"Bearer {sandbox.token()}"


def _sandbox_now(sandbox: SandboxControl) -> datetime:
    return datetime.fromisoformat(sandbox.clock()["now"])


def _many_accounts(sandbox: SandboxControl) -> list[str]:
    """Every test customer linked at every bank above: a few dozen accounts of varied shape."""
    return [
        account
        for institution in INSTITUTIONS
        for customer in CUSTOMERS
        for account in sandbox.link(institution_id=institution, customer=customer)["accounts"]
    ]


@pytest.mark.usefixtures("unlimited")
class TestClock:
    def test_a_pending_item_books_later_under_a_new_id(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        accounts = _many_accounts(sandbox)
        pending_before = {account: _transactions(api, account)["pending"] for account in accounts}
        assert any(pending_before.values()), "no pending item anywhere"
        assert any("transactionId" in item for items in pending_before.values() for item in items)

        # The longest a bank here takes to book is 3 days.
        _advance(sandbox, api, days=4)

        for account, pending in pending_before.items():
            after = _transactions(api, account)
            ids_after = {item.get("transactionId") for item in after["booked"] + after["pending"]}
            for item in pending:
                same = [
                    booked
                    for booked in after["booked"]
                    if booked["valueDate"] == item["valueDate"]
                    and booked["transactionAmount"] == item["transactionAmount"]
                    and _counterparty(booked) == _counterparty(item)
                ]
                assert same, f"pending {item} never booked"
                if "transactionId" in item:
                    assert all(booked.get("transactionId") != item["transactionId"] for booked in same)
                    assert item["transactionId"] not in ids_after

    def test_balances_move_by_what_books_in_between(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        accounts = sandbox.link(customer="chloe")["accounts"]
        before = {account: _balances(api, account)["closingBooked"] for account in accounts}

        _advance(sandbox, api, days=6)

        for account in accounts:
            after = _balances(api, account)["closingBooked"]
            first = date.fromisoformat(before[account]["referenceDate"]) + timedelta(days=1)
            last = date.fromisoformat(after["referenceDate"])
            assert (last - first).days == 5
            booked = _transactions(api, account, date_from=first, date_to=last)["booked"]
            assert booked, "nothing booked in six days"
            assert all(first <= date.fromisoformat(item["bookingDate"]) <= last for item in booked)
            assert _amount(after) - _amount(before[account]) == sum(map(_amount, booked))


@pytest.mark.usefixtures("unlimited")
class TestContent:
    def test_some_booked_items_have_no_transaction_id(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        lists = [_transactions(api, account) for account in sandbox.link(customer="chloe")["accounts"]]
        booked = [item for found in lists for item in found["booked"]]
        pending = [item for found in lists for item in found["pending"]]

        assert any("transactionId" not in item for item in booked)
        assert any("transactionId" in item for item in booked)
        # GoCardless's own id is given to every booked item and to no pending one (facts §7).
        assert all(item.get("internalTransactionId") for item in booked)
        assert not any("internalTransactionId" in item for item in pending)

    def test_a_customer_holds_two_currencies(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        for customer in ("alice", "bartek", "chloe"):
            accounts = sandbox.link(customer=customer)["accounts"]
            currencies = {ok(api.get(f"/accounts/{account}/details/"))["account"]["currency"] for account in accounts}
            assert len(currencies) >= 2, (customer, currencies)

    def test_payee_names_are_not_all_ascii(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        account = sandbox.link(customer="alice")["accounts"][0]
        names = {_counterparty(item) for item in _transactions(api, account)["booked"]}
        assert any(name and not name.isascii() for name in names), names


@pytest.mark.usefixtures("unlimited")
class TestBalances:
    def test_closing_is_opening_plus_what_booked_that_day(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        accounts = [
            account for customer in ("alice", "chloe") for account in sandbox.link(customer=customer)["accounts"]
        ]
        for account in accounts:
            balances = _balances(api, account)
            closing, opening = balances["closingBooked"], balances["openingBooked"]
            assert closing["referenceDate"] == opening["referenceDate"] == sandbox.clock()["today"]
            assert closing["balanceAmount"]["currency"] == opening["balanceAmount"]["currency"]
            day = closing["referenceDate"]
            booked_that_day = [item for item in _transactions(api, account)["booked"] if item["bookingDate"] == day]
            assert _amount(closing) == _amount(opening) + sum(map(_amount, booked_that_day))


@pytest.mark.usefixtures("unlimited")
class TestDeterminism:
    def test_same_seed_and_dates_give_the_same_bytes(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        first = sandbox.link(institution_id=SANDBOX_INSTITUTION, customer="bartek")["accounts"]
        second = sandbox.link(institution_id=SANDBOX_INSTITUTION, customer="bartek")["accounts"]
        other = sandbox.link(institution_id=SANDBOX_INSTITUTION, customer="alice")["accounts"]
        assert set(first).isdisjoint(second)
        today = date.fromisoformat(sandbox.clock()["today"])
        window = {"date_from": (today - timedelta(days=40)).isoformat(), "date_to": today.isoformat()}

        def content(account: str) -> bytes:
            response = api.get(f"/accounts/{account}/transactions/", params=window)
            assert response.status_code == 200
            # Only the fetch time may differ.
            return re.sub(rb'"last_updated":"[^"]*"', b"", response.content)

        assert content(first[0]) == content(second[0])
        assert content(first[1]) == content(second[1])

        # The ids come from the bank's account (institution, customer, index), not from GoCardless's account id.
        def ids(account: str) -> set[str]:
            booked = _transactions(api, account, date_from=today - timedelta(days=40), date_to=today)["booked"]
            return {item["transactionId"] for item in booked if item.get("transactionId")}

        assert ids(first[0])
        assert ids(first[0]) == ids(second[0])
        assert ids(first[0]).isdisjoint(ids(first[1]))
        assert ids(first[0]).isdisjoint(ids(other[0]))

    def test_a_past_window_reads_the_same_days_later(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        account = sandbox.link(customer="alice")["accounts"][0]
        today = date.fromisoformat(sandbox.clock()["today"])
        window = {"date_from": today - timedelta(days=30), "date_to": today - timedelta(days=10)}
        before = _transactions(api, account, **window)["booked"]

        _advance(sandbox, api, days=3)

        assert before
        assert _transactions(api, account, **window)["booked"] == before


class TestDailyLimit:
    def test_a_fifth_call_in_a_day_is_refused_until_midnight(self, sandbox: SandboxControl, api: httpx.Client) -> None:
        # Put the sandbox at midday so that its day cannot turn while the test runs.
        now = _sandbox_now(sandbox)
        noon = datetime.combine(now.date(), datetime.min.time(), UTC) + timedelta(hours=12)
        _advance(sandbox, api, seconds=((noon - now) % timedelta(days=1)).total_seconds())
        account = sandbox.link()["accounts"][0]
        path = f"/accounts/{account}/transactions/"

        # Failed calls do not use the allowance: a bad request, a bank outage.
        assert api.get(path, params={"date_from": "2025-02-01", "date_to": "2025-01-01"}).status_code == 400
        sandbox.set_faults(account_id=account, error_rate=1.0, error_status=503)
        assert api.get(path).status_code == 503
        sandbox.clear_faults()

        successes = [api.get(path) for _ in range(4)]
        assert [response.status_code for response in successes] == [200] * 4
        assert {response.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT"] for response in successes} == {"4"}
        remaining = [response.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] for response in successes]
        assert remaining == ["3", "2", "1", "0"]

        refused = api.get(path)
        now = _sandbox_now(sandbox)
        to_midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now
        assert refused.status_code == 429
        assert refused.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] == "0"
        reset = int(refused.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET"])
        assert abs(reset - to_midnight.total_seconds()) <= 5
        assert refused.json()["summary"] == "Rate limit exceeded"
        detail = re.fullmatch(
            r"The rate limit for this resource is 4/day\. Please try again in (\d+) seconds", refused.json()["detail"]
        )
        assert detail is not None
        assert abs(int(detail[1]) - reset) <= 1
        # The names really are the underscore ones on the wire (lowercased by HTTP/1.1 servers, as here).
        assert "http_x_ratelimit_account_success_reset" in {name.decode().lower() for name, _ in refused.headers.raw}

        # Each scope has its own allowance, and the next day brings a fresh one.
        assert api.get(f"/accounts/{account}/balances/").status_code == 200
        _advance(sandbox, api, seconds=reset + 1)
        renewed = api.get(path)
        assert renewed.status_code == 200
        assert renewed.headers["HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING"] == "3"


class TestConsentPage:
    def _requisition(self, api: httpx.Client, reference: str) -> dict[str, Any]:
        body = {"redirect": CALLBACK, "institution_id": SANDBOX_INSTITUTION, "reference": reference}
        response = api.post("/requisitions/", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        assert created["status"] == "CR"
        assert created["accounts"] == []
        return created

    def _open(self, requisition: dict[str, Any]) -> list[str]:
        """Open the link as a browser would; the test customers the page offers."""
        page = httpx.get(requisition["link"])
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        return re.findall(r'<input type="radio" name="customer" value="([^"]+)"', page.text)

    def _submit(self, requisition: dict[str, Any], **form: str) -> dict[str, list[str]]:
        """Post the page's form; the query of the redirect back to the app."""
        answer = httpx.post(requisition["link"], data=form, follow_redirects=False)
        assert answer.status_code == 302
        target = urlsplit(answer.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
        return parse_qs(target.query)

    def _answer(self, requisition: dict[str, Any], **form: str) -> dict[str, list[str]]:
        assert form["customer"] in self._open(requisition)
        return self._submit(requisition, **form)

    def test_approve_links_accounts(self, api: httpx.Client) -> None:
        requisition = self._requisition(api, "consent-approve")

        assert set(self._open(requisition)) == set(CUSTOMERS)
        # GC: the end user is on the consent screen.
        assert ok(api.get(f"/requisitions/{requisition['id']}/"))["status"] == "GC"
        query = self._submit(requisition, action="approve", customer="alice")

        assert query == {"ref": ["consent-approve"]}
        linked = ok(api.get(f"/requisitions/{requisition['id']}/"))
        assert linked["status"] == "LN"
        assert linked["accounts"]
        assert ok(api.get(f"/agreements/enduser/{linked['agreement']}/"))["accepted"] is not None
        for account in linked["accounts"]:
            assert ok(api.get(f"/accounts/{account}/"))["status"] == "READY"

    def test_deny_rejects(self, api: httpx.Client) -> None:
        requisition = self._requisition(api, "consent-deny")

        query = self._answer(requisition, action="deny", customer="alice")

        assert query["ref"] == ["consent-deny"]
        assert query["error"][0]
        assert query["details"][0]
        refused = ok(api.get(f"/requisitions/{requisition['id']}/"))
        assert refused["status"] == "RJ"
        assert refused["accounts"] == []

    def test_consenting_again_gives_new_account_ids_with_the_same_ibans(self, api: httpx.Client) -> None:
        first, second = self._requisition(api, "consent-first"), self._requisition(api, "consent-second")
        self._answer(first, action="approve", customer="alice")
        self._answer(second, action="approve", customer="alice")

        first_accounts = ok(api.get(f"/requisitions/{first['id']}/"))["accounts"]
        second_accounts = ok(api.get(f"/requisitions/{second['id']}/"))["accounts"]

        assert set(first_accounts).isdisjoint(second_accounts)
        ibans = [
            [ok(api.get(f"/accounts/{account}/"))["iban"] for account in accounts]
            for accounts in (first_accounts, second_accounts)
        ]
        assert ibans[0] == ibans[1]
        assert len(set(ibans[0])) == len(first_accounts)
