"""The GoCardless client against the sandbox, over HTTP.

The `sandbox` fixture (tests/harness/sandbox.py) is a real server process reset before each test; its
`/_sandbox/` controls set the scene (short token lifetimes, faults, limits, expired or suspended accounts) and
its counters say how many calls really reached it. `client` is a GoCardlessClient pointed at it, with sleeps
recorded instead of slept so retry tests stay fast.
"""

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from src.providers.gocardless import errors
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.tokens import InMemoryTokenStore
from tests.harness.sandbox import SandboxControl


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(sandbox: SandboxControl, sleeps: Sleeps, **options: object) -> GoCardlessClient:
    return GoCardlessClient(
        base_url=sandbox.base_url,
        secret_id=sandbox.secret_id,
        secret_key=sandbox.secret_key,
        sleep=sleeps,
        jitter=lambda: 0.5,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(sandbox: SandboxControl, sleeps: Sleeps) -> Iterator[GoCardlessClient]:
    with make_client(sandbox, sleeps) as gocardless:
        yield gocardless


def calls(sandbox: SandboxControl, endpoint: str) -> int:
    return int(sandbox.counters()["endpoints"].get(endpoint, 0))


TOKEN_NEW = "POST /api/v2/token/new/"
TOKEN_REFRESH = "POST /api/v2/token/refresh/"


class TestTokens:
    def test_one_token_serves_many_calls_and_clients_sharing_a_store(
        self, sandbox: SandboxControl, sleeps: Sleeps
    ) -> None:
        store = InMemoryTokenStore()
        with (
            make_client(sandbox, sleeps, token_store=store) as first,
            make_client(sandbox, sleeps, token_store=store) as second,
        ):
            first.list_institutions("GB")
            second.list_institutions("DE")
            first.get_institution("SANDBOXFINANCE_SFIN0000")
        assert calls(sandbox, TOKEN_NEW) == 1

    def test_a_token_the_server_no_longer_accepts_is_refreshed_once(
        self, sandbox: SandboxControl, client: GoCardlessClient
    ) -> None:
        sandbox.set_limits(access_lifetime=120)
        client.list_institutions("GB")
        sandbox.advance_clock(seconds=300)  # the server's clock: our token died early, as after a revocation
        assert client.list_institutions("GB")
        assert (calls(sandbox, TOKEN_NEW), calls(sandbox, TOKEN_REFRESH)) == (1, 1)

    def test_access_token_is_refreshed_before_it_expires(
        self, sandbox: SandboxControl, client: GoCardlessClient
    ) -> None:
        sandbox.set_limits(access_lifetime=61)  # inside the client's 60 s margin after one second
        client.list_institutions("GB")
        import time

        time.sleep(1.2)
        client.list_institutions("GB")
        assert (calls(sandbox, TOKEN_NEW), calls(sandbox, TOKEN_REFRESH)) == (1, 1)
        assert calls(sandbox, "GET /api/v2/institutions/") == 2  # no call was refused on the way

    def test_expired_refresh_token_means_token_new_again(
        self, sandbox: SandboxControl, client: GoCardlessClient
    ) -> None:
        sandbox.set_limits(access_lifetime=120, refresh_lifetime=200)
        client.list_institutions("GB")
        sandbox.advance_clock(seconds=500)
        assert client.list_institutions("GB")
        assert (calls(sandbox, TOKEN_NEW), calls(sandbox, TOKEN_REFRESH)) == (2, 1)

    def test_wrong_secrets_are_a_typed_error_without_the_secret(self, sandbox: SandboxControl, sleeps: Sleeps) -> None:
        with (
            GoCardlessClient(
                base_url=sandbox.base_url, secret_id="who", secret_key="wrong-key-123", sleep=sleeps
            ) as stranger,
            pytest.raises(errors.AuthenticationFailedError) as caught,
        ):
            stranger.list_institutions()
        assert "wrong-key-123" not in str(caught.value)
        assert caught.value.status_code == 401


class TestRequisitions:
    def test_pagination_walks_every_page(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        created = {
            client.create_requisition(redirect="http://127.0.0.1/callback", institution_id="SANDBOXFINANCE_SFIN0000").id
            for _ in range(5)
        }
        page = client.list_requisitions(limit=2)
        assert page.count == 5
        assert len(page.results) == 2
        assert page.next is not None
        assert {r.id for r in client.iter_requisitions(page_size=2)} == created

    def test_agreement_then_requisition_then_consent(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        agreement = client.create_agreement(
            institution_id="SANDBOXFINANCE_SFIN0000", max_historical_days=180, access_valid_for_days=90
        )
        requisition = client.create_requisition(
            redirect="http://127.0.0.1/callback",
            institution_id="SANDBOXFINANCE_SFIN0000",
            agreement_id=agreement.id,
            reference="ref-" + uuid.uuid4().hex,
        )
        assert requisition.status == "CR"
        assert requisition.link
        sandbox.approve(requisition.id)
        linked = client.get_requisition(requisition.id)
        assert linked.status == "LN"
        assert len(linked.accounts) == 2
        assert client.get_agreement(agreement.id).accepted is not None

    def test_a_post_whose_answer_is_lost_is_found_by_reference_not_sent_again(
        self, sandbox: SandboxControl, sleeps: Sleeps
    ) -> None:
        # The sandbox makes the requisition, then holds its answer longer than the client waits.
        sandbox.set_faults(latency_ms=1500, path_prefix="/api/v2/requisitions/", methods=["POST"])
        with make_client(sandbox, sleeps, timeout=httpx.Timeout(0.5)) as impatient:
            requisition = impatient.create_requisition(
                redirect="http://127.0.0.1/callback", institution_id="SANDBOXFINANCE_SFIN0000", reference="lost-1"
            )
        assert requisition.reference == "lost-1"
        assert calls(sandbox, "POST /api/v2/requisitions/") == 1
        sandbox.clear_faults()
        with make_client(sandbox, sleeps) as patient:
            assert [r.reference for r in patient.iter_requisitions()] == ["lost-1"]

    def test_a_failed_post_is_not_retried(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        sandbox.set_faults(error_rate=1.0, path_prefix="/api/v2/requisitions/")
        with pytest.raises(errors.UpstreamServerError):
            client.create_requisition(redirect="http://127.0.0.1/cb", institution_id="SANDBOXFINANCE_SFIN0000")
        assert calls(sandbox, "POST /api/v2/requisitions/") == 1

    def test_not_found_and_malformed_ids(self, client: GoCardlessClient) -> None:
        with pytest.raises(errors.ResourceNotFoundError):
            client.get_requisition(str(uuid.uuid4()))
        with pytest.raises(errors.InvalidRequestError) as caught:
            client.get_requisition("not-a-uuid")
        assert caught.value.summary == "Invalid ID"

    def test_validation_errors_keep_the_field_form(self, client: GoCardlessClient) -> None:
        client.create_requisition(
            redirect="http://127.0.0.1/cb", institution_id="SANDBOXFINANCE_SFIN0000", reference="dup"
        )
        with pytest.raises(errors.InvalidRequestError) as caught:
            client.create_requisition(
                redirect="http://127.0.0.1/cb", institution_id="SANDBOXFINANCE_SFIN0000", reference="dup"
            )
        assert "reference" in caught.value.field_errors
        assert "unique" in str(caught.value)


class TestAccounts:
    def test_data_calls_return_typed_results_and_their_rate_limits(
        self, sandbox: SandboxControl, client: GoCardlessClient
    ) -> None:
        account_id = sandbox.link()["accounts"][0]
        metadata = client.get_account(account_id)
        details = client.get_account_details(account_id)
        balances = client.get_account_balances(account_id)
        transactions = client.get_account_transactions(account_id, date_from=date.today() - timedelta(days=30))
        assert metadata.iban == details.iban
        assert details.rate_limits is not None
        assert details.rate_limits.account_remaining == 3
        assert {b.balance_type for b in balances.balances} >= {"closingBooked", "interimAvailable"}
        assert transactions.transactions.booked
        assert transactions.payload["transactions"]["booked"][0] == transactions.transactions.booked[0]

    def test_daily_limit_is_a_typed_error_with_its_reset_and_no_retry(
        self, sandbox: SandboxControl, client: GoCardlessClient
    ) -> None:
        sandbox.set_limits(account_daily=2)
        account_id = sandbox.link()["accounts"][0]
        client.get_account_transactions(account_id)
        second = client.get_account_transactions(account_id)
        assert second.rate_limits is not None
        assert second.rate_limits.account_remaining == 0
        with pytest.raises(errors.RateLimitExceededError) as caught:
            client.get_account_transactions(account_id)
        error = caught.value
        assert error.scope == "transactions"
        assert not error.bank_limit
        now = datetime.fromisoformat(sandbox.clock()["now"].replace("Z", "+00:00"))
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        assert error.reset_at is not None
        # The sandbox's clock and ours agree (no advance), so the reset lands at the sandbox's next midnight.
        assert abs((error.reset_at - midnight).total_seconds()) < 10
        assert sandbox.counters()["accounts"][account_id]["transactions"]["calls"] == 3

    def test_the_banks_own_limit_is_told_apart(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.set_bank_limit(account_id, 0)
        with pytest.raises(errors.RateLimitExceededError) as caught:
            client.get_account_balances(account_id)
        assert caught.value.bank_limit
        assert caught.value.scope == "balances"

    def test_general_limit(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        sandbox.set_limits(general={"institutions": 1})
        client.list_institutions("GB")
        with pytest.raises(errors.RateLimitExceededError) as caught:
            client.list_institutions("GB")
        assert caught.value.scope == "general"
        assert caught.value.reset_at is not None
        assert caught.value.reset_at <= datetime.now(UTC) + timedelta(seconds=61)

    @pytest.mark.parametrize(
        ("kind", "error"),
        [
            ("agreement", errors.AgreementExpiredError),
            ("access_expired", errors.AccessExpiredError),
            ("inactive", errors.AccessExpiredError),
        ],
    )
    def test_expired_access(
        self, sandbox: SandboxControl, client: GoCardlessClient, kind: str, error: type[Exception]
    ) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.expire(account_id, kind)
        with pytest.raises(error):
            client.get_account_transactions(account_id)
        assert calls(sandbox, TOKEN_REFRESH) == 0  # an expired agreement is not a token problem

    def test_suspended_account_is_not_retried(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.suspend(account_id)
        with pytest.raises(errors.AccountSuspendedError):
            client.get_account_balances(account_id)
        assert sandbox.counters()["accounts"][account_id]["balances"]["calls"] == 1


class TestRetries:
    def test_5xx_is_retried_then_succeeds(
        self, sandbox: SandboxControl, client: GoCardlessClient, sleeps: Sleeps
    ) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.set_faults(error_count=2, error_status=503)
        assert client.get_account_balances(account_id).balances
        assert sandbox.counters()["accounts"][account_id]["balances"]["calls"] == 3
        assert sleeps == [0.375, 0.75]  # pinned jitter: half fixed, half random of 0.5 s, then 1 s

    def test_5xx_exhausting_retries_is_a_typed_error(
        self, sandbox: SandboxControl, client: GoCardlessClient, sleeps: Sleeps
    ) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.set_faults(error_rate=1.0, error_status=500)
        with pytest.raises(errors.UpstreamServerError) as caught:
            client.get_account_details(account_id)
        assert caught.value.status_code == 500
        assert caught.value.error_type == "UnknownRequestError"
        assert sandbox.counters()["accounts"][account_id]["details"]["calls"] == 4
        assert len(sleeps) == 3

    def test_timeouts_are_retried_then_reported(self, sandbox: SandboxControl, sleeps: Sleeps) -> None:
        account_id = sandbox.link()["accounts"][0]
        sandbox.set_faults(latency_ms=1000)
        with make_client(sandbox, sleeps, timeout=httpx.Timeout(0.3), max_attempts=2) as impatient:
            impatient.tokens.access_token()
            with pytest.raises(errors.ConnectionFailedError):
                impatient.get_account_transactions(account_id)
        assert len(sleeps) == 1


class TestLogs:
    def test_a_line_per_request_and_no_secret_or_token(
        self, sandbox: SandboxControl, client: GoCardlessClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        client.list_institutions("GB")
        agreement = client.create_agreement(
            institution_id="SANDBOXFINANCE_SFIN0000", max_historical_days=90, access_valid_for_days=90
        )
        requisition = client.create_requisition(
            redirect="http://127.0.0.1/cb", institution_id="SANDBOXFINANCE_SFIN0000", agreement_id=agreement.id
        )
        sandbox.approve(requisition.id)
        for account_id in client.get_requisition(requisition.id).accounts:
            client.get_account(account_id)
            client.get_account_details(account_id)
            client.get_account_balances(account_id)
            client.get_account_transactions(account_id)
        client.delete_requisition(requisition.id)

        request_lines = [r for r in caplog.records if r.name.startswith("src.providers.gocardless")]
        assert request_lines, "the walk logged nothing: the secret search below would prove nothing"
        api_calls = sum(sandbox.counters()["endpoints"].values())
        assert len([r for r in request_lines if r.getMessage() == "gocardless request"]) == api_calls
        for record in request_lines:
            assert getattr(record, "path", None)
            assert getattr(record, "status", None)

        text = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
        pair = client.tokens._store.load()  # the test needs the real token values
        assert pair is not None
        for secret in (sandbox.secret_id, sandbox.secret_key, pair.access, pair.refresh):
            assert secret not in text
