"""The Enable Banking client over HTTP against the real sandbox (`finsync sandbox --provider enablebanking`).

Each test drives the client as finsync will: the application checked, a bank's consent started, approved through the
sandbox's controls in place of a browser, the code exchanged for a session, the accounts read page by page. The
sandbox checks every JWT against the test key pair, so a call that passes is a call Enable Banking would accept.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from src.providers.enablebanking import errors
from src.providers.enablebanking.auth import JwtSigner
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.models import Aspsp, SessionStatus
from src.providers.enablebanking.psu import PsuContext
from src.providers.enablebanking.redirect import read_redirect
from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxControl, make_key_pair

REDIRECT = "http://127.0.0.1:8000/api/connections/callback"
PERSON = PsuContext(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64)")
# Reading by hand as a person present, so the check costs none of the bank's unattended allowance.
PERSON_HEADERS = {"Psu-Ip-Address": "198.51.100.1", "Psu-User-Agent": "test"}


class Sleeps:
    """Records the client's backoff instead of waiting it out."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps) -> Iterator[EnableBankingClient]:
    with EnableBankingClient.from_key_file(
        application_id=APPLICATION_ID,
        private_key_file=enablebanking_sandbox.private_key_file,
        base_url=enablebanking_sandbox.base_url,
        sleep=sleeps,
        jitter=lambda: 0.0,
    ) as made:
        yield made


def _bank(client: EnableBankingClient, name: str, country: str) -> Aspsp:
    return next(aspsp for aspsp in client.list_aspsps(country) if aspsp.name == name)


def _connect(
    client: EnableBankingClient, sandbox: EnableBankingSandboxControl, name: str, country: str, customer: str = "alice"
) -> tuple[str, list[str]]:
    """A consent as a person gives it: POST /auth, the bank's page approved, POST /sessions with the code."""
    authorization = client.start_authorization(aspsp=_bank(client, name, country), redirect_url=REDIRECT, state="s-1")
    redirect = read_redirect(sandbox.approve(authorization.authorization_id, customer=customer))
    session = client.create_session(str(redirect.code))
    return session.session_id, [str(account.uid) for account in session.accounts]


def _raw_listing(sandbox: EnableBankingSandboxControl, uid: str, params: dict[str, str]) -> list[dict[str, object]]:
    """The same listing read by hand, key by key, to check the client missed no page."""
    items: list[dict[str, object]] = []
    with sandbox.api() as api:
        key: str | None = None
        while True:
            page = api.get(
                f"/accounts/{uid}/transactions",
                params={**params, **({"continuation_key": key} if key else {})},
                headers=PERSON_HEADERS,
            ).json()
            items += page["transactions"]
            key = page.get("continuation_key")
            if not key:
                return items


class TestApplicationAndBanks:
    def test_the_key_works_and_the_application_is_active(self, client: EnableBankingClient) -> None:
        application = client.verify_application()
        assert application.kid == APPLICATION_ID
        assert application.active
        assert "AIS" in application.services

    def test_banks_of_a_country_with_their_limits(self, client: EnableBankingClient) -> None:
        banks = client.list_aspsps("se")
        assert [bank.country for bank in banks] == ["SE"] * len(banks)
        fjord = next(bank for bank in banks if bank.name == "Fjord Sparbank")
        assert fjord.maximum_consent_validity == 180 * 86_400
        assert set(fjord.required_psu_headers) == {"Psu-Ip-Address", "Psu-User-Agent"}
        assert fjord.payload["name"] == "Fjord Sparbank"  # the verbatim payload is kept

    def test_an_inactive_application_is_misconfigured(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        enablebanking_sandbox.set_application_active(False)
        with pytest.raises(errors.MisconfiguredError, match="is not active"):
            client.verify_application()
        with pytest.raises(errors.MisconfiguredError) as caught:
            client.list_aspsps("FI")
        assert (caught.value.status_code, caught.value.error_message) == (403, "Application is not active")


class TestKeyRefused:
    def test_another_key_is_refused_as_misconfigured(
        self, enablebanking_sandbox: EnableBankingSandboxControl, tmp_path: Path
    ) -> None:
        other = make_key_pair(tmp_path, "other")
        with (
            EnableBankingClient.from_key_file(
                application_id=APPLICATION_ID,
                private_key_file=other.private_key_file,
                base_url=enablebanking_sandbox.base_url,
            ) as client,
            pytest.raises(errors.MisconfiguredError) as caught,
        ):
            client.get_application()
        assert caught.value.status_code == 401
        assert caught.value.error_code == "UNAUTHORIZED_ACCESS"
        assert "signature" in str(caught.value)
        assert "PRIVATE KEY" not in str(caught.value)

    def test_another_application_id_is_refused(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        with (
            EnableBankingClient.from_key_file(
                application_id="not-this-application",
                private_key_file=enablebanking_sandbox.private_key_file,
                base_url=enablebanking_sandbox.base_url,
            ) as client,
            pytest.raises(errors.MisconfiguredError, match="Unknown application"),
        ):
            client.get_application()


class TestConsent:
    def test_auth_approve_session_read_every_page_then_end(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        thistle = _bank(client, "Thistle Bank", "GB")
        # A year asked, 90 days allowed: the client caps it (the sandbox refuses more than the bank's maximum).
        authorization = client.start_authorization(
            aspsp=thistle,
            redirect_url=REDIRECT,
            state="state-capability",
            valid_until=datetime.now(UTC) + timedelta(days=365),
        )
        assert authorization.url.startswith(enablebanking_sandbox.base_url)
        redirect = urlsplit(enablebanking_sandbox.approve(authorization.authorization_id, customer="carol"))
        query = parse_qs(redirect.query)
        assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
        assert query["state"] == ["state-capability"]

        session = client.create_session(query["code"][0])
        assert len(session.accounts) == 3
        assert session.access.valid_until <= datetime.now(UTC) + timedelta(days=90)
        assert all(account.identification_hash for account in session.accounts)
        read = client.get_session(session.session_id)
        assert read.status is SessionStatus.AUTHORIZED
        assert sorted(read.accounts) == sorted(str(account.uid) for account in session.accounts)

        uid = str(session.accounts[0].uid)
        details = client.account_details(uid)
        assert details.identification_hash == session.accounts[0].identification_hash
        balances = client.account_balances(uid)
        assert balances
        assert all(balance.balance_amount.currency == details.currency for balance in balances)

        since = date.fromisoformat(enablebanking_sandbox.clock()["today"]) - timedelta(days=365)
        transactions = client.account_transactions(uid, date_from=since)
        assert transactions.complete
        assert transactions.pages > 2
        by_hand = _raw_listing(enablebanking_sandbox, uid, {"date_from": since.isoformat()})
        assert len(transactions.transactions) == len(by_hand) > 20
        assert [t.payload for t in transactions.transactions] == by_hand

        client.delete_session(session.session_id)
        assert client.get_session(session.session_id).status is SessionStatus.CLOSED
        with pytest.raises(errors.SessionEndedError) as caught:
            client.account_details(uid)
        assert caught.value.error_code == "CLOSED_SESSION"

    def test_a_denied_consent_comes_back_as_a_refusal(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        authorization = client.start_authorization(
            aspsp=_bank(client, "Mock ASPSP", "FI"), redirect_url=REDIRECT, state="s-denied"
        )
        redirect = read_redirect(enablebanking_sandbox.deny(authorization.authorization_id))
        assert (redirect.state, redirect.approved, redirect.error) == ("s-denied", False, "access_denied")

    def test_a_redirect_not_registered_is_misconfigured(self, client: EnableBankingClient) -> None:
        with pytest.raises(errors.MisconfiguredError) as caught:
            client.start_authorization(
                aspsp=_bank(client, "Mock ASPSP", "FI"), redirect_url="https://finsync.example/callback", state="s"
            )
        assert caught.value.error_code == "REDIRECT_URI_NOT_ALLOWED"

    def test_a_code_is_single_use(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        authorization = client.start_authorization(
            aspsp=_bank(client, "Mock ASPSP", "FI"), redirect_url=REDIRECT, state="s"
        )
        code = parse_qs(urlsplit(enablebanking_sandbox.approve(authorization.authorization_id)).query)["code"][0]
        client.create_session(code)
        with pytest.raises(errors.AuthorizationCodeError) as caught:
            client.create_session(code)
        assert caught.value.error_code == "ALREADY_AUTHORIZED"
        with pytest.raises(errors.AuthorizationCodeError):
            client.create_session("not-a-code")

    def test_an_unknown_session_is_not_found(self, client: EnableBankingClient) -> None:
        with pytest.raises(errors.ResourceNotFoundError) as caught:
            client.get_session("00000000-0000-4000-8000-000000000000")
        assert caught.value.error_code == "SESSION_DOES_NOT_EXIST"

    @pytest.mark.parametrize(("action", "code"), [("expire", "EXPIRED_SESSION"), ("revoke", "REVOKED_SESSION")])
    def test_an_ended_session_is_typed(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, action: str, code: str
    ) -> None:
        session_id, uids = _connect(client, enablebanking_sandbox, "Mock ASPSP", "FI")
        getattr(enablebanking_sandbox, f"{action}_session")(session_id)
        with pytest.raises(errors.SessionEndedError) as caught:
            client.account_transactions(uids[0])
        assert caught.value.error_code == code


class TestReading:
    def test_an_empty_first_page_is_followed(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Bank Wisła", "PL", customer="bob")
        read = client.account_transactions(uids[0], psu=PERSON, required_psu_headers=["Psu-Ip-Address"])
        assert read.complete
        assert read.transactions
        assert len(read.transactions) == len(_raw_listing(enablebanking_sandbox, uids[0], {}))

    def test_a_period_the_bank_refuses_is_asked_again_with_the_one_it_allows(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Rhein Volksbank", "DE", customer="bob")
        today = date.fromisoformat(enablebanking_sandbox.clock()["today"])
        read = client.account_transactions(uids[0], date_from=today - timedelta(days=400))
        assert read.date_from == today - timedelta(days=89)  # the bank keeps 90 days
        assert read.transactions
        assert all((t.booking_date or t.value_date or today) >= read.date_from for t in read.transactions)

    def test_rate_limited_after_four_unattended_reads(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Thistle Bank", "GB", customer="bob")
        for _ in range(4):
            client.account_balances(uids[0])
        before = datetime.now(UTC)
        with pytest.raises(errors.RateLimitedError) as caught:
            client.account_balances(uids[0])
        assert caught.value.error_code == "ASPSP_RATE_LIMIT_EXCEEDED"
        assert caught.value.reset_at is not None
        assert before < caught.value.reset_at <= before + timedelta(days=1, minutes=1)
        client.account_balances(uids[0], psu=PERSON)  # a person present is not counted

    def test_psu_headers_only_with_a_person(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Fjord Sparbank", "SE", customer="bob")
        required = _bank(client, "Fjord Sparbank", "SE").required_psu_headers
        uid = uids[0]
        enablebanking_sandbox.reset_counters()
        client.account_details(uid)  # scheduled: no headers
        client.account_details(uid, psu=PERSON, required_psu_headers=required)  # Sync now: the person's headers
        # A person whose request lacks a header the bank requires: none is sent, rather than PSU_HEADER_NOT_PROVIDED.
        client.account_details(uid, psu=PsuContext(ip_address="203.0.113.7"), required_psu_headers=required)
        counter = enablebanking_sandbox.counters()["accounts"][uid]["details"]
        assert (counter["calls"], counter["ok"], counter["attended"]) == (3, 3, 1)

    def test_a_partial_set_of_required_headers_is_what_the_bank_refuses(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        """Why the client sends all or none: the bank refuses some (the client told nothing of the requirement)."""
        _, uids = _connect(client, enablebanking_sandbox, "Fjord Sparbank", "SE", customer="bob")
        with pytest.raises(errors.InvalidRequestError) as caught:
            client.account_details(uids[0], psu=PsuContext(ip_address="203.0.113.7"))
        assert caught.value.error_code == "PSU_HEADER_NOT_PROVIDED"


class TestRetries:
    def test_a_get_is_retried_on_5xx_with_backoff(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Mock ASPSP", "FI")
        enablebanking_sandbox.set_faults(path_prefix="/accounts/", error_status=503, error_count=2)
        assert client.account_details(uids[0]).identification_hash
        assert sleeps.waits == [0.25, 0.5]

    def test_attempts_run_out(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        enablebanking_sandbox.set_faults(path_prefix="/aspsps", error_status=502, error_count=10)
        with pytest.raises(errors.UpstreamServerError) as caught:
            client.list_aspsps("FI")
        assert caught.value.status_code == 502
        assert len(sleeps.waits) == 3  # four attempts

    def test_a_post_is_never_retried(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        mock = _bank(client, "Mock ASPSP", "FI")
        enablebanking_sandbox.set_faults(path_prefix="/auth", error_status=503, error_count=1)
        with pytest.raises(errors.UpstreamServerError):
            client.start_authorization(aspsp=mock, redirect_url=REDIRECT, state="s")
        assert sleeps.waits == []
        assert client.start_authorization(aspsp=mock, redirect_url=REDIRECT, state="s").url

    def test_a_delete_is_never_retried(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        session_id, _ = _connect(client, enablebanking_sandbox, "Mock ASPSP", "FI")
        enablebanking_sandbox.set_faults(path_prefix="/sessions/", methods=["DELETE"], error_status=500, error_count=1)
        with pytest.raises(errors.UpstreamServerError):
            client.delete_session(session_id)
        assert sleeps.waits == []

    def test_a_bank_error_is_not_retried(
        self, client: EnableBankingClient, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        _, uids = _connect(client, enablebanking_sandbox, "Mock ASPSP", "FI")
        enablebanking_sandbox.set_faults(path_prefix="/accounts/", error_status=400, error_count=1)
        with pytest.raises(errors.BankError) as caught:
            client.account_balances(uids[0])
        assert caught.value.error_code == "ASPSP_ERROR"
        assert sleeps.waits == []

    def test_a_timeout_is_retried_then_no_response(
        self, enablebanking_sandbox: EnableBankingSandboxControl, sleeps: Sleeps
    ) -> None:
        enablebanking_sandbox.set_faults(path_prefix="/aspsps", latency_ms=400)
        with (
            EnableBankingClient.from_key_file(
                application_id=APPLICATION_ID,
                private_key_file=enablebanking_sandbox.private_key_file,
                base_url=enablebanking_sandbox.base_url,
                timeout=0.1,
                max_attempts=2,
                sleep=sleeps,
                jitter=lambda: 0.0,
            ) as client,
            pytest.raises(errors.ConnectionFailedError),
        ):
            client.list_aspsps("FI")
        assert sleeps.waits == [0.25]


def test_a_repeated_continuation_key_stops_the_reading() -> None:
    """A mock transport: the sandbox pages correctly and cannot be made to repeat a key (a bank bug seen by peers),
    so this one case is answered by hand."""
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.params.get("continuation_key")
        seen.append(key)
        assert request.url.params.get("date_from") == "2026-01-01"  # each page repeats the query
        item = {"transaction_amount": {"currency": "EUR", "amount": "1.00"}, "credit_debit_indicator": "CRDT"}
        return httpx.Response(200, json={"transactions": [{**item, "status": "BOOK"}], "continuation_key": "again"})

    signer = JwtSigner(application_id=APPLICATION_ID, private_key=rsa.generate_private_key(65537, 2048))
    with EnableBankingClient(base_url="https://eb.invalid", signer=signer, transport=httpx.MockTransport(answer)) as c:
        read = c.account_transactions("uid-1", date_from=date(2026, 1, 1))
    assert seen == [None, "again"]
    assert (len(read.transactions), read.complete) == (2, False)
