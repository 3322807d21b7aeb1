"""The Enable Banking sandbox behaves like a bank behind Enable Banking: listings page by continuation key until
it is null, histories move with the sandbox's clock (pending items book or are voided), balances add up, some banks
ignore dates or renew transaction ids, the daily allowance of unattended calls is a day's, and the consent page
and its controls send the browser back as the real flow does.

Fixtures: `enablebanking_sandbox` (tests/harness/enablebanking.py) is the sandbox, reset before each test; `api` is
an httpx client on the official API with a valid JWT. Everything is read through the official paths; the controls
only set the scene. Days are counted on the sandbox's clock, never on this machine's.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.harness.enablebanking import EnableBankingSandboxControl, EnableBankingSandboxServer
from tests.harness.sandbox import ok

MOCK = {"name": "Mock ASPSP", "country": "FI"}  # ignores date_from/date_to
FJORD = {"name": "Fjord Sparbank", "country": "SE"}  # requires Psu-Ip-Address and Psu-User-Agent
RHEIN = {"name": "Rhein Volksbank", "country": "DE"}  # new transaction ids in every session
THISTLE = {"name": "Thistle Bank", "country": "GB"}  # 90 days of consent at most
WISLA = {"name": "Bank Wisła", "country": "PL"}  # an empty first page; signed debits
CALLBACK = "http://127.0.0.1:9/callback"
PSU = {"Psu-Ip-Address": "192.0.2.10", "Psu-User-Agent": "realism"}


@pytest.fixture
def api(enablebanking_sandbox: EnableBankingSandboxControl) -> Iterator[httpx.Client]:
    with enablebanking_sandbox.api() as client:
        yield client


@pytest.fixture
def unlimited(enablebanking_sandbox: EnableBankingSandboxControl) -> None:
    """Lift the daily allowance for tests that read the same account many times."""
    enablebanking_sandbox.set_limits(account_daily=10_000)


def _today(eb: EnableBankingSandboxControl) -> date:
    return date.fromisoformat(eb.clock()["today"])


def _pages(api: httpx.Client, uid: str, **query: str) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following continuation_key until it is null (guarding against a repeated key)."""
    pages, seen, key = [], set(), None
    while True:
        params = {**query, **({"continuation_key": key} if key else {})}
        body = ok(api.get(f"/accounts/{uid}/transactions", params=params))
        pages.append(body["transactions"])
        key = body["continuation_key"]
        if key is None:
            return pages
        assert key not in seen, "a continuation key came back"
        seen.add(key)
        assert len(pages) < 200


def _listing(api: httpx.Client, uid: str, **query: str) -> list[dict[str, Any]]:
    return [item for page in _pages(api, uid, **query) for item in page]


def _signed(item: dict[str, Any]) -> Decimal:
    magnitude = abs(Decimal(item["transaction_amount"]["amount"]))
    return -magnitude if item["credit_debit_indicator"] == "DBIT" else magnitude


def _day(item: dict[str, Any]) -> str:
    return str(item.get("booking_date") or item["transaction_date"])


def _balances(api: httpx.Client, uid: str) -> dict[str, Decimal]:
    body = ok(api.get(f"/accounts/{uid}/balances"))
    return {balance["balance_type"]: Decimal(balance["balance_amount"]["amount"]) for balance in body["balances"]}


def _connect(eb: EnableBankingSandboxControl, api: httpx.Client, aspsp: dict[str, str], customer: str) -> Any:
    """The consent flow as a client runs it: POST /auth, the person approves, POST /sessions with the code."""
    valid_until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    body = {"access": {"valid_until": valid_until}, "aspsp": aspsp, "state": "s-1", "redirect_url": CALLBACK}
    started = ok(api.post("/auth", json=body))
    redirect = eb.approve(started["authorization_id"], customer=customer)
    query = parse_qs(urlsplit(redirect).query)
    assert query["state"] == ["s-1"]
    return ok(api.post("/sessions", json={"code": query["code"][0]}))


@pytest.mark.usefixtures("unlimited")
class TestPaging:
    def test_pages_of_ten_newest_first_every_item_once(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=THISTLE, customer="alice")["accounts"][0]
        pages = _pages(api, uid, strategy="longest")
        assert len(pages) > 3
        assert all(len(page) == 10 for page in pages[:-1])
        assert 0 < len(pages[-1]) <= 10
        items = [item for page in pages for item in page]
        ids = [item["transaction_id"] for item in items]
        assert len(ids) == len(set(ids))
        days = [_day(item) for item in items]
        assert days == sorted(days, reverse=True)
        by_status = sum(len(_listing(api, uid, strategy="longest", transaction_status=s)) for s in _STATUSES)
        assert by_status == len(items)

    def test_dates_are_honoured(self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client) -> None:
        today = _today(enablebanking_sandbox)
        first, last = today - timedelta(days=40), today - timedelta(days=20)
        uid = enablebanking_sandbox.link(aspsp=THISTLE, customer="carol")["accounts"][0]
        items = _listing(api, uid, date_from=first.isoformat(), date_to=last.isoformat())
        assert items
        assert all(first.isoformat() <= _day(item) <= last.isoformat() for item in items)
        without_dates = _listing(api, uid)
        assert min(_day(item) for item in without_dates) >= (today - timedelta(days=89)).isoformat()
        assert min(_day(item) for item in without_dates) < (today - timedelta(days=80)).isoformat()

    def test_a_bank_that_ignores_dates(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        today = _today(enablebanking_sandbox)
        uid = enablebanking_sandbox.link(aspsp=MOCK, customer="alice")["accounts"][0]
        asked = (today - timedelta(days=10)).isoformat()
        items = _listing(api, uid, date_from=asked)
        assert min(_day(item) for item in items) < asked
        enablebanking_sandbox.set_aspsp("Mock ASPSP", "FI", ignores_dates=False)
        assert min(_day(item) for item in _listing(api, uid, date_from=asked)) >= asked

    def test_an_empty_first_page_still_leads_on(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=WISLA, customer="bob")["accounts"][0]
        pages = _pages(api, uid)
        assert pages[0] == []
        assert sum(len(page) for page in pages) > 10

    def test_a_continuation_key_belongs_to_its_account(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        first, second = enablebanking_sandbox.link(aspsp=THISTLE, customer="alice")["accounts"]
        key = ok(api.get(f"/accounts/{first}/transactions"))["continuation_key"]
        refused = api.get(f"/accounts/{second}/transactions", params={"continuation_key": key})
        assert refused.status_code == 422
        assert refused.json()["error"] == "WRONG_CONTINUATION_KEY"

    def test_an_older_period_than_the_bank_keeps(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        today = _today(enablebanking_sandbox)
        uid = enablebanking_sandbox.link(aspsp=RHEIN, customer="bob")["accounts"][0]
        refused = api.get(
            f"/accounts/{uid}/transactions", params={"date_from": (today - timedelta(days=91)).isoformat()}
        )
        assert refused.status_code == 422
        allowed = refused.json()["detail"]["date_from"]
        assert allowed == (today - timedelta(days=89)).isoformat()
        assert _listing(api, uid, date_from=allowed)


_STATUSES = ("BOOK", "PDNG", "CNCL", "RJCT")


@pytest.mark.usefixtures("unlimited")
class TestHistories:
    def test_balances_reconcile_with_the_transactions(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        for uid in eb.link(aspsp=THISTLE, customer="carol")["accounts"]:
            before, start = _balances(api, uid), _today(eb)
            pending = _listing(api, uid, transaction_status="PDNG")
            assert before["ITAV"] - before["CLBD"] == sum((_signed(item) for item in pending), Decimal(0))
            eb.advance_clock(days=6)
            after, end = _balances(api, uid), _today(eb)
            window = {"date_from": (start + timedelta(days=1)).isoformat(), "date_to": end.isoformat()}
            booked = _listing(api, uid, transaction_status="BOOK", **window)
            assert after["CLBD"] - before["CLBD"] == sum((_signed(item) for item in booked), Decimal(0))
            eb.advance_clock(days=-6)

    def test_pending_items_book_or_are_voided_when_the_clock_moves(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        uids = eb.link(aspsp=MOCK, customer="carol")["accounts"]
        pending = {uid: _listing(api, uid, transaction_status="PDNG") for uid in uids}
        assert sum(map(len, pending.values())) > 0
        assert any("entry_reference" not in item for items in pending.values() for item in items)
        eb.advance_clock(days=4)
        for uid, items in pending.items():
            later = _listing(api, uid)
            assert not any(
                item["status"] == "PDNG"
                and item["transaction_date"] <= min((i["transaction_date"] for i in items), default="9999")
                for item in later
            )
            for item in items:
                settled = [
                    other
                    for other in later
                    if other["transaction_date"] == item["transaction_date"]
                    and other["transaction_amount"] == item["transaction_amount"]
                    and other.get("creditor") == item.get("creditor")
                    and other.get("debtor") == item.get("debtor")
                ]
                assert settled, item
                assert all(other["status"] in {"BOOK", "CNCL", "RJCT"} for other in settled)
                assert all(  # booked under a reference of its own; a voided item keeps the pending one
                    other.get("entry_reference") != item.get("entry_reference")
                    for other in settled
                    if "entry_reference" in item and other["status"] == "BOOK"
                )

    def test_what_a_client_must_cope_with_is_there(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        linked = enablebanking_sandbox.link(aspsp=MOCK, customer="carol")
        items = [item for uid in linked["accounts"] for item in _listing(api, uid)]
        statuses = {item["status"] for item in items}
        assert {"BOOK", "PDNG", "CNCL", "RJCT"} <= statuses
        assert any("entry_reference" not in item for item in items if item["status"] == "BOOK")
        names = {party["name"] for item in items for party in (item.get("creditor"), item.get("debtor")) if party}
        assert any(not name.isascii() for name in names)
        currencies = {ok(api.get(f"/accounts/{uid}/details"))["currency"] for uid in linked["accounts"]}
        assert len(currencies) == 2

    def test_signed_debits_at_one_bank(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=WISLA, customer="bob")["accounts"][0]
        debits = [item for item in _listing(api, uid) if item["credit_debit_indicator"] == "DBIT"]
        assert debits
        assert all(item["transaction_amount"]["amount"].startswith("-") for item in debits)

    def test_histories_are_deterministic_and_accounts_keep_their_hash(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        first, second = _connect(eb, api, MOCK, "alice"), _connect(eb, api, MOCK, "alice")
        assert first["session_id"] != second["session_id"]
        one, two = first["accounts"][0], second["accounts"][0]
        assert one["uid"] != two["uid"]
        assert one["identification_hash"] == two["identification_hash"]
        assert _listing(api, one["uid"]) == _listing(api, two["uid"])

    def test_transaction_ids_change_every_session_at_one_bank(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        one = _listing(api, _connect(eb, api, RHEIN, "bob")["accounts"][0]["uid"], transaction_status="BOOK")
        two = _listing(api, _connect(eb, api, RHEIN, "bob")["accounts"][0]["uid"], transaction_status="BOOK")
        assert [item.get("entry_reference") for item in one] == [item.get("entry_reference") for item in two]
        assert not {item["transaction_id"] for item in one} & {item["transaction_id"] for item in two}


class TestLimits:
    def test_four_unattended_calls_a_day(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        uid = eb.link(aspsp=MOCK, customer="bob")["accounts"][0]
        for _ in range(4):
            ok(api.get(f"/accounts/{uid}/balances"))
        refused = api.get(f"/accounts/{uid}/balances")
        assert refused.status_code == 429
        assert refused.json()["error"] == "ASPSP_RATE_LIMIT_EXCEEDED"
        ok(api.get(f"/accounts/{uid}/details"))  # another endpoint has its own four
        ok(api.get(f"/accounts/{uid}/balances", headers=PSU))  # the person is present: not counted
        counters = eb.counters()["accounts"][uid]["balances"]
        assert (counters["calls"], counters["ok"], counters["attended"], counters["rate_limited"]) == (6, 5, 1, 1)
        eb.advance_clock(days=1)
        ok(api.get(f"/accounts/{uid}/balances"))

    def test_a_listing_counts_once_whatever_its_pages(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=MOCK, customer="bob")["accounts"][0]
        for _ in range(4):
            assert len(_pages(api, uid)) > 1
        assert api.get(f"/accounts/{uid}/transactions").status_code == 429

    def test_a_call_enable_banking_refuses_itself_is_not_counted(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=MOCK, customer="bob")["accounts"][0]
        for _ in range(6):
            refused = api.get(f"/accounts/{uid}/transactions", params={"date_to": "2026-01-01"})
            assert refused.json()["error"] == "DATE_TO_WITHOUT_DATE_FROM"
        ok(api.get(f"/accounts/{uid}/transactions"))

    def test_required_psu_headers_all_or_none(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        uid = enablebanking_sandbox.link(aspsp=FJORD, customer="bob")["accounts"][0]
        ok(api.get(f"/accounts/{uid}/details"))
        ok(api.get(f"/accounts/{uid}/details", headers=PSU))
        partial = api.get(f"/accounts/{uid}/details", headers={"Psu-Ip-Address": "192.0.2.10"})
        assert partial.status_code == 422
        assert partial.json()["error"] == "PSU_HEADER_NOT_PROVIDED"


class TestSessions:
    def test_expire_revoke_and_delete(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        eb = enablebanking_sandbox
        for action, status, error in (
            (eb.expire_session, "EXPIRED", "EXPIRED_SESSION"),
            (eb.revoke_session, "REVOKED", "REVOKED_SESSION"),
            (lambda session: ok(api.delete(f"/sessions/{session}")), "CLOSED", "CLOSED_SESSION"),
        ):
            linked = eb.link(aspsp=MOCK, customer="bob")
            action(linked["session_id"])
            assert ok(api.get(f"/sessions/{linked['session_id']}"))["status"] == status
            refused = api.get(f"/accounts/{linked['accounts'][0]}/balances")
            assert (refused.status_code, refused.json()["error"]) == (401, error)

    def test_a_session_expires_when_its_valid_until_passes(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        linked = enablebanking_sandbox.link(aspsp=MOCK, customer="bob", valid_days=2)
        enablebanking_sandbox.advance_clock(days=3)
        assert api.get(f"/accounts/{linked['accounts'][0]}/details").json()["error"] == "EXPIRED_SESSION"

    def test_consent_longer_than_the_bank_allows(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        now = datetime.fromisoformat(enablebanking_sandbox.clock()["now"])
        body = {"aspsp": THISTLE, "state": "s", "redirect_url": CALLBACK}
        allowed = {"valid_until": (now + timedelta(days=89)).isoformat()}
        ok(api.post("/auth", json={**body, "access": allowed}))
        too_long = {"valid_until": (now + timedelta(days=91)).isoformat()}
        refused = api.post("/auth", json={**body, "access": too_long})
        assert refused.status_code == 422
        assert "7776000 seconds" in refused.json()["message"]

    def test_faults_by_path_and_method(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        linked = enablebanking_sandbox.link(aspsp=MOCK, customer="bob")
        enablebanking_sandbox.set_faults(path_prefix="/sessions/", methods=["DELETE"], error_status=503, error_count=1)
        ok(api.get(f"/sessions/{linked['session_id']}"))
        assert api.delete(f"/sessions/{linked['session_id']}").status_code == 503
        ok(api.delete(f"/sessions/{linked['session_id']}"))


class TestConsentPage:
    def _start(self, api: httpx.Client, redirect_url: str = CALLBACK) -> dict[str, Any]:
        valid_until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        body = {"access": {"valid_until": valid_until}, "aspsp": MOCK, "state": "st", "redirect_url": redirect_url}
        result: dict[str, Any] = ok(api.post("/auth", json=body))
        return result

    def test_approve_in_the_page(self, api: httpx.Client) -> None:
        url = self._start(api, CALLBACK + "?keep=1")["url"]
        page = httpx.get(url)
        assert page.status_code == 200
        assert "Alice Järvinen" in page.text
        answer = httpx.post(url, data={"customer": "carol", "action": "approve"})
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["keep"] == ["1"]
        assert query["state"] == ["st"]
        session = ok(api.post("/sessions", json={"code": query["code"][0]}))
        assert len(session["accounts"]) == 3

    def test_deny_in_the_page(self, api: httpx.Client) -> None:
        url = self._start(api)["url"]
        answer = httpx.post(url, data={"action": "deny"})
        location = answer.headers["location"]
        assert location.startswith(CALLBACK)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["st"]
        assert query["error"] == ["access_denied"]
        assert "code" not in query
        assert httpx.get(url).status_code == 409

    def test_deny_without_a_browser(
        self, enablebanking_sandbox: EnableBankingSandboxControl, api: httpx.Client
    ) -> None:
        redirect = enablebanking_sandbox.deny(self._start(api)["authorization_id"])
        assert parse_qs(urlsplit(redirect).query)["error"] == ["access_denied"]

    def test_any_loopback_redirect_is_allowed_and_nothing_else(self, api: httpx.Client) -> None:
        for url in ("http://localhost:3000/cb", "https://127.0.0.1/cb", "http://[::1]:8000/cb"):
            self._start(api, url)
        valid_until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        for url in ("https://example.com/cb", "http://192.0.2.1/cb", "ftp://127.0.0.1/cb"):
            body = {"access": {"valid_until": valid_until}, "aspsp": MOCK, "state": "st", "redirect_url": url}
            assert api.post("/auth", json=body).json()["error"] == "REDIRECT_URI_NOT_ALLOWED"


def test_registered_redirect_urls_only(
    enablebanking_sandbox_server: EnableBankingSandboxServer, tmp_path: Path
) -> None:
    """With SANDBOX_ENABLEBANKING_REDIRECT_URLS set, only those URLs are allowed (loopback ones no more)."""
    keys = enablebanking_sandbox_server.keys
    server = EnableBankingSandboxServer(
        tmp_path / "sandbox.log", keys, redirect_urls="https://app.example/cb, https://b.example/"
    )
    try:
        eb = EnableBankingSandboxControl(server.base_url, keys)
        with eb.api() as api:
            assert ok(api.get("/application"))["redirect_urls"] == ["https://app.example/cb", "https://b.example/"]
            valid_until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
            body = {"access": {"valid_until": valid_until}, "aspsp": MOCK, "state": "st"}
            ok(api.post("/auth", json={**body, "redirect_url": "https://b.example/"}))
            refused = api.post("/auth", json={**body, "redirect_url": CALLBACK})
            assert refused.json()["error"] == "REDIRECT_URI_NOT_ALLOWED"
        eb.close()
    finally:
        server.stop()
