"""The SimpleFIN client against the SimpleFIN sandbox over HTTP: a setup token claimed once, the Access URL kept
out of every text, versions, a long history read in 90-day windows and merged, the Bridge's refusals as typed
errors, retries of reads only, and the protocol's problems typed."""

import base64
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from src.providers.simplefin import errors
from src.providers.simplefin.access import AccessUrl, claim_url_of
from src.providers.simplefin.client import WINDOW, SimpleFinClient, merge
from src.providers.simplefin.models import AccountSet, Problem
from tests.harness.simplefin import SimpleFinSandboxControl, read_accounts


@pytest.fixture
def client() -> Iterator[SimpleFinClient]:
    with SimpleFinClient(sleep=lambda _: None, jitter=lambda: 0.0) as client:
        yield client


def connect(client: SimpleFinClient, sandbox: SimpleFinSandboxControl, customer: str = "jordan") -> AccessUrl:
    return client.claim(claim_url_of(sandbox.setup_token(customer)))


def now_of(sandbox: SimpleFinSandboxControl) -> datetime:
    return datetime.fromisoformat(sandbox.clock()["now"])


class TestSetupTokens:
    def test_a_pasted_token_with_blanks_and_without_padding_still_reads(self) -> None:
        claim = "https://bridge.example/simplefin/claim/abc123"
        token = base64.b64encode(claim.encode()).decode().rstrip("=")
        assert claim_url_of(f"  {token[:10]}\n{token[10:]} ") == claim

    @pytest.mark.parametrize(
        "pasted",
        [
            "",
            "not base64 at all!",
            base64.b64encode(b"hello world").decode(),
            base64.b64encode(b"ftp://bridge.example/simplefin/claim/x").decode(),
            base64.b64encode(b"https://bridge.example/simplefin/accounts").decode(),
            base64.b64encode(b"https://u:p@bridge.example/simplefin/claim/x").decode(),
        ],
    )
    def test_anything_else_is_refused_without_repeating_it(self, pasted: str) -> None:
        with pytest.raises(errors.SetupTokenError) as refused:
            claim_url_of(pasted)
        assert "setup token" in str(refused.value)
        assert not pasted or pasted not in str(refused.value)


class TestClaim:
    def test_a_token_is_claimed_once_and_the_access_url_never_shows_its_password(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl, caplog: pytest.LogCaptureFixture
    ) -> None:
        token = simplefin_sandbox.setup_token()
        with caplog.at_level(logging.INFO, logger="src.providers.simplefin"):
            access = client.claim(claim_url_of(token))
            client.accounts(access, version=2)
            with pytest.raises(errors.ClaimRefusedError) as refused:
                client.claim(claim_url_of(token))
        assert "disable it at the SimpleFIN Bridge" in str(refused.value)
        assert access.password
        assert access.password not in repr(access)
        assert access.password not in str(access)
        assert access.secret().startswith("http://user")
        assert AccessUrl.parse(access.secret()) == access
        assert caplog.records, "the client logged its requests"
        logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
        assert access.password not in logged
        assert access.username not in logged

    def test_a_claim_answering_anything_but_200_or_403_is_a_failure(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl
    ) -> None:
        simplefin_sandbox.set_faults(path_prefix="/simplefin/claim/", error_status=502, error_count=1)
        token = simplefin_sandbox.setup_token()
        with pytest.raises(errors.ClaimFailedError):
            client.claim(claim_url_of(token))
        counters = simplefin_sandbox.counters()["endpoints"]
        assert counters["POST /simplefin/claim/{token}"] == 1, "a claim is never sent twice"


class TestReading:
    def test_versions_offered_decide_the_shape_asked_for(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl
    ) -> None:
        access = connect(client, simplefin_sandbox)
        assert client.best_version(client.info(access)) == 2
        simplefin_sandbox.settings(versions=["1.0"])
        assert client.best_version(client.info(access)) == 1
        answer = client.accounts(access, version=2)
        assert answer.version == 1
        assert all(account.org for account in answer.accounts)

    def test_two_years_are_read_in_90_day_windows_each_transaction_once(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl
    ) -> None:
        access = connect(client, simplefin_sandbox)
        end = now_of(simplefin_sandbox) + timedelta(seconds=1)
        start = end - timedelta(days=730)
        simplefin_sandbox.reset_counters()
        merged = client.read(access, start=start, end=end, version=2)
        requests = sum(simplefin_sandbox.counters()["requests"][access.username].values())
        assert requests == -(-(end - start) // WINDOW)  # ceil(730 / 90) = 9
        assert not [p for p in merged.problems if p.code == "gen.api"], "no window was capped"
        for account in merged.accounts:
            ids = [t.id for t in account.transactions]
            assert len(ids) == len(set(ids)), account.name
        # The merged read holds exactly what the windows hold, read one by one.
        by_hand: dict[str, set[str]] = {}
        window_end = end
        while window_end > start:
            window_start = max(start, window_end - WINDOW)
            body = read_accounts(
                access.secret(),
                version=2,
                pending=1,
                **{"start-date": int(window_start.timestamp()), "end-date": int(window_end.timestamp())},
            ).json()
            for account in body["accounts"]:
                by_hand.setdefault(account["id"], set()).update(t["id"] for t in account["transactions"])
            window_end = window_start
        assert {a.id: {t.id for t in a.transactions} for a in merged.accounts} == by_hand
        amounts = [t.amount for a in merged.accounts for t in a.transactions]
        assert all(isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01")) for amount in amounts)
        assert {a.currency for a in merged.accounts} == {"USD", "CAD"}
        assert any(t.pending and t.posted is None for a in merged.accounts for t in a.transactions)
        assert any(t.payee for a in merged.accounts for t in a.transactions)

    def test_refusals_are_typed_and_reads_are_retried_on_5xx(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl
    ) -> None:
        access = connect(client, simplefin_sandbox)
        simplefin_sandbox.set_faults(error_status=503, error_count=2)
        assert client.accounts(access, version=2).accounts, "two 503s, then the third attempt answers"
        simplefin_sandbox.set_access(access.secret(), payment_required=True)
        with pytest.raises(errors.PaymentRequiredError):
            client.accounts(access)
        simplefin_sandbox.set_access(access.secret(), payment_required=False, revoked=True)
        with pytest.raises(errors.AccessRevokedError) as revoked:
            client.accounts(access)
        assert access.password not in str(revoked.value)

    def test_problems_of_both_versions(
        self, client: SimpleFinClient, simplefin_sandbox: SimpleFinSandboxControl
    ) -> None:
        access = connect(client, simplefin_sandbox)
        first = client.accounts(access, version=2, balances_only=True)
        card = next(a for a in first.accounts if a.name == "Granite Rewards Visa")
        simplefin_sandbox.report_problem("act.failed", account_id=card.id)
        v2 = client.accounts(access, version=2)
        assert Problem("act.failed", v2.problems[0].message, None, card.id) in v2.problems
        assert "Try again later" in v2.problems[0].message
        v1 = client.accounts(access, version=1)
        assert [p.code for p in v1.problems] == ["gen."]


def test_unknown_subcodes_count_as_their_prefix_and_message_is_read_too() -> None:
    assert Problem.from_v2({"code": "act.exploded", "message": "Boom", "account_id": "A"}) == Problem(
        "act.", "Boom", None, "A"
    )
    assert Problem.from_v2({"code": "weird", "msg": "?"}).code == "gen."


def test_merging_keeps_the_newest_window_balances_and_each_transaction_once() -> None:
    def answer(balance: str, ids: list[str]) -> AccountSet:
        body = {
            "errlist": [],
            "connections": [],
            "accounts": [
                {
                    "id": "A",
                    "name": "Checking",
                    "conn_id": "C",
                    "currency": "USD",
                    "balance": balance,
                    "balance-date": 1,
                    "transactions": [
                        {"id": i, "posted": 1000 + n, "amount": "-1.10", "description": "x"} for n, i in enumerate(ids)
                    ],
                }
            ],
        }
        return AccountSet.parse(body, 2)

    merged = merge([answer("10.00", ["t3", "t2"]), answer("9.00", ["t2", "t1"])])
    (account,) = merged.accounts
    assert account.balance == Decimal("10.00")
    assert sorted(t.id for t in account.transactions) == ["t1", "t2", "t3"]
    assert sum(t.amount for t in account.transactions) == Decimal("-3.30")


def test_answers_that_are_not_account_sets_are_upstream_errors() -> None:
    with pytest.raises(errors.UpstreamServerError):
        AccountSet.parse({"accounts": [{"id": "A", "balance": 12.5}]}, 2)
    with pytest.raises(errors.UpstreamServerError):
        AccountSet.parse(["not", "a", "set"], 2)
    assert AccountSet.parse({"errors": [], "accounts": []}, 2).version == 1
