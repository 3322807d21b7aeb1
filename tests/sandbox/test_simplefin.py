"""The SimpleFIN sandbox over HTTP, as a client meets it: setup tokens and their claim, Basic auth on the Access
URL, `/info`, `/accounts` in both protocol versions (each answer validated against the protocol's tables,
tests/sandbox/simplefin_schemas.py), date windows and the 90-day cap, pending items that post under a new id, a bank
that re-issues ids, balances that reconcile, the daily request thresholds and the `/_sandbox/` controls."""

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest

from tests.harness.simplefin import SimpleFinSandboxControl, SimpleFinSandboxServer, read_accounts
from tests.sandbox.simplefin_schemas import ACCOUNT_SET_V1, ACCOUNT_SET_V2, INFO

DAY = 86_400


@pytest.fixture
def server(simplefin_sandbox_server: SimpleFinSandboxServer) -> SimpleFinSandboxServer:
    return simplefin_sandbox_server


@pytest.fixture
def sandbox(simplefin_sandbox: SimpleFinSandboxControl) -> SimpleFinSandboxControl:
    return simplefin_sandbox


@pytest.fixture
def access_url(sandbox: SimpleFinSandboxControl) -> str:
    return sandbox.claim(sandbox.setup_token("jordan"))


def account_set(access_url: str, *, version: int = 2, **params: Any) -> dict[str, Any]:
    response = read_accounts(access_url, version=version, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    jsonschema.validate(body, ACCOUNT_SET_V2 if version == 2 else ACCOUNT_SET_V1)
    return body


def now_of(sandbox: SimpleFinSandboxControl) -> datetime:
    return datetime.fromisoformat(sandbox.clock()["now"])


class TestConnecting:
    def test_a_setup_token_is_a_claim_url_that_gives_an_access_url_once(self, sandbox: SimpleFinSandboxControl) -> None:
        token = sandbox.setup_token("jordan")
        claim_url = base64.b64decode(token).decode()
        assert urlsplit(claim_url).path.startswith("/simplefin/claim/")
        first = httpx.post(claim_url, timeout=10)
        assert first.status_code == 200
        access = urlsplit(first.text)
        assert access.username
        assert access.password
        assert access.path == "/simplefin"
        again = httpx.post(claim_url, timeout=10)
        assert again.status_code == 403
        assert "already been claimed" in again.text

    def test_the_demo_token_can_be_claimed_again_and_again(self, sandbox: SimpleFinSandboxControl) -> None:
        token = sandbox.setup_token("demo")
        first, second = sandbox.claim(token), sandbox.claim(token)
        assert first == second
        assert urlsplit(first).username == "demo"
        assert account_set(first)["accounts"]

    def test_the_create_page_hands_out_a_token_a_person_can_paste(self, server: SimpleFinSandboxServer) -> None:
        page = httpx.get(f"{server.base_url}/simplefin/create", timeout=10)
        assert page.status_code == 200
        assert "Create a SimpleFIN Token" in page.text
        made = httpx.post(f"{server.base_url}/simplefin/create", data={"customer": "amelie"}, timeout=10)
        token = made.text.split('id="setup-token">')[1].split("<")[0]
        access_url = httpx.post(base64.b64decode(token).decode(), timeout=10).text
        names = {account["name"] for account in account_set(access_url)["accounts"]}
        assert names == {"Compte chèques", "US Dollar Account"}

    def test_wrong_or_missing_credentials_are_refused(self, access_url: str, server: SimpleFinSandboxServer) -> None:
        parts = urlsplit(access_url)
        wrong = access_url.replace(f":{parts.password}@", ":not-the-password@")
        assert read_accounts(wrong).status_code == 403
        assert httpx.get(f"{server.base_url}/simplefin/accounts", timeout=10).status_code == 403

    def test_info_names_the_versions_offered(
        self, server: SimpleFinSandboxServer, sandbox: SimpleFinSandboxControl
    ) -> None:
        info = httpx.get(f"{server.base_url}/simplefin/info", timeout=10).json()
        jsonschema.validate(info, INFO)
        assert info["versions"] == ["1.0", "2.0"]
        sandbox.settings(versions=["1.0"])
        assert httpx.get(f"{server.base_url}/simplefin/info", timeout=10).json()["versions"] == ["1.0"]


class TestAccounts:
    def test_both_versions_describe_the_same_accounts(self, access_url: str, sandbox: SimpleFinSandboxControl) -> None:
        v2 = account_set(access_url, version=2)
        v1 = account_set(access_url, version=1)
        assert [a["id"] for a in v1["accounts"]] == [a["id"] for a in v2["accounts"]]
        assert {c["conn_id"] for c in v2["connections"]} == {a["conn_id"] for a in v2["accounts"]}
        assert {a["org"]["name"] for a in v1["accounts"]} == {
            "Liberty National Bank",
            "Maple Leaf Credit Union",
            "Granite Card Services",
        }
        assert {a["currency"] for a in v2["accounts"]} == {"USD", "CAD"}
        # A server offering v1 only answers v1 whatever is asked.
        sandbox.settings(versions=["1.0"])
        assert "errors" in account_set(access_url, version=1)
        assert "errlist" not in read_accounts(access_url, version=2).json()

    def test_windows_are_inclusive_at_the_start_exclusive_at_the_end(self, access_url: str) -> None:
        everything = account_set(access_url, pending=1)["accounts"][0]["transactions"]
        posted = [t for t in everything if t["posted"]]
        assert len(posted) > 20
        pivot = posted[len(posted) // 2]["posted"]
        first = int(pivot - 30 * DAY)
        before = account_set(access_url, **{"start-date": first, "end-date": pivot})["accounts"][0]["transactions"]
        after = account_set(access_url, **{"start-date": pivot, "end-date": int(pivot + 30 * DAY)})["accounts"][0][
            "transactions"
        ]
        assert before
        assert after
        assert all(first <= t["posted"] < pivot for t in before)
        assert any(t["posted"] == pivot for t in after)

    def test_a_range_over_90_days_is_capped_with_a_message_for_the_developer(self, access_url: str) -> None:
        end = int(datetime.now(UTC).timestamp())
        body = account_set(access_url, **{"start-date": end - 200 * DAY, "end-date": end})
        assert {"code": "gen.api", "msg": "Requested date range exceeds limit of 90 days and was capped."} in body[
            "errlist"
        ]
        oldest = min(t["posted"] for a in body["accounts"] for t in a["transactions"])
        assert oldest >= end - 90 * DAY
        v1 = account_set(access_url, version=1, **{"start-date": end - 200 * DAY, "end-date": end})
        assert "Requested date range exceeds limit of 90 days and was capped." in v1["errors"]

    def test_pending_items_only_when_asked_and_they_post_under_a_new_id(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        plain = account_set(access_url)
        assert not any(t.get("pending") for a in plain["accounts"] for t in a["transactions"])
        with_pending = account_set(access_url, pending=1)
        pending = {
            t["id"]: (a["id"], t) for a in with_pending["accounts"] for t in a["transactions"] if t.get("pending")
        }
        assert pending, "the sandbox's present has pending items"
        assert all(t["posted"] == 0 for _, t in pending.values())
        sandbox.advance_clock(days=6)
        later = account_set(access_url, pending=1)
        ids = {t["id"] for a in later["accounts"] for t in a["transactions"]}
        assert not ids & set(pending), "a pending id outlived its item"
        posted_now = [(a["id"], t["amount"], t["description"]) for a in later["accounts"] for t in a["transactions"]]
        matched = sum((account, t["amount"], t["description"]) in posted_now for account, t in pending.values())
        assert matched >= len(pending) * 0.8, "most pending items posted (a few authorisations are dropped)"

    def test_balances_reconcile_with_the_posted_transactions(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        before = {a["id"]: Decimal(a["balance"]) for a in account_set(access_url, **{"balances-only": 1})["accounts"]}
        today = now_of(sandbox).date()
        sandbox.advance_clock(days=12)
        start = int(datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC).timestamp())
        after = account_set(access_url, **{"start-date": start})
        for account in after["accounts"]:
            moved = sum((Decimal(t["amount"]) for t in account["transactions"]), Decimal(0))
            assert Decimal(account["balance"]) - before[account["id"]] == moved, account["name"]
            assert Decimal(account["available-balance"]) <= Decimal(account["balance"]) or account["name"].endswith(
                "Savings"
            )

    def test_balances_only_and_one_account(self, access_url: str) -> None:
        accounts = account_set(access_url, **{"balances-only": 1})["accounts"]
        assert all("transactions" not in a for a in accounts)
        one = account_set(access_url, account=accounts[1]["id"])["accounts"]
        assert [a["id"] for a in one] == [accounts[1]["id"]]

    def test_the_card_issuer_reissues_the_ids_of_recent_dates_each_week(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        def card() -> dict[str, Any]:
            accounts = account_set(access_url)["accounts"]
            return next(a for a in accounts if a["name"] == "Granite Rewards Visa")

        first = {(t["posted"], t["amount"], t["description"]): t["id"] for t in card()["transactions"]}
        sandbox.advance_clock(days=7)
        second = {(t["posted"], t["amount"], t["description"]): t["id"] for t in card()["transactions"]}
        now = int(now_of(sandbox).timestamp())
        both = set(first) & set(second)
        recent = [key for key in both if key[0] >= now - 14 * DAY + DAY]
        older = [key for key in both if key[0] < now - 21 * DAY]
        assert recent
        assert older
        assert all(first[key] != second[key] for key in recent)
        assert all(first[key] == second[key] for key in older)


class TestLimitsAndControls:
    def test_requests_past_the_thresholds_are_warned_then_refused_until_the_next_day(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        sandbox.settings(warn_after=2, block_after=3)
        assert account_set(access_url)["errlist"] == []
        assert account_set(access_url)["errlist"] == []
        warned = account_set(access_url)["errlist"]
        assert [e["code"] for e in warned] == ["gen."]
        refused = read_accounts(access_url)
        assert refused.status_code == 403
        assert "too many requests" in refused.text
        user = urlsplit(access_url).username
        assert sandbox.counters()["requests"][user][now_of(sandbox).date().isoformat()] == 4
        sandbox.advance_clock(days=1)
        assert read_accounts(access_url).status_code == 200

    def test_revoked_access_is_403_and_an_unpaid_subscription_402(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        sandbox.set_access(access_url, payment_required=True)
        assert read_accounts(access_url).status_code == 402
        sandbox.set_access(access_url, payment_required=False, revoked=True)
        assert read_accounts(access_url).status_code == 403

    def test_a_connection_or_account_problem_is_reported_and_its_accounts_left_out(
        self, access_url: str, sandbox: SimpleFinSandboxControl
    ) -> None:
        body = account_set(access_url)
        maple = next(c for c in body["connections"] if c["org_name"] == "Maple Leaf Credit Union")
        card = next(a for a in body["accounts"] if a["name"] == "Granite Rewards Visa")
        sandbox.report_problem("con.auth", conn_id=maple["conn_id"])
        sandbox.report_problem("act.failed", account_id=card["id"])
        after = account_set(access_url)
        assert {(e["code"], e.get("conn_id") or e.get("account_id")) for e in after["errlist"]} == {
            ("con.auth", maple["conn_id"]),
            ("act.failed", card["id"]),
        }
        left = {a["id"] for a in after["accounts"]}
        assert card["id"] not in left
        assert not any(a["conn_id"] == maple["conn_id"] for a in after["accounts"])
        v1 = account_set(access_url, version=1)
        assert any("may need attention" in message for message in v1["errors"])

    def test_faults_fail_the_next_calls_then_pass(self, access_url: str, sandbox: SimpleFinSandboxControl) -> None:
        sandbox.set_faults(error_status=503, error_count=1)
        assert read_accounts(access_url).status_code == 503
        assert read_accounts(access_url).status_code == 200


def test_access_urls_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "simplefin.json"
    server = SimpleFinSandboxServer(tmp_path / "first.log", state_file=state_file)
    try:
        control = SimpleFinSandboxControl(server.base_url)
        access_url = control.claim(control.setup_token("amelie"))
        control.close()
    finally:
        server.stop()
    again = SimpleFinSandboxServer(tmp_path / "second.log", state_file=state_file, port=server.port)
    try:
        assert len(account_set(access_url)["accounts"]) == 2
    finally:
        again.stop()
