"""Every id the client puts into a GoCardless URL (or body) has its documented shape, or no request leaves.

`client` talks to the sandbox (a real server, reset before each test); its counters (`/_sandbox/counters`) count
every request that reached it, the token request included, so "no request" is what the bank saw, not a mock's
record.
"""

import uuid
from collections.abc import Callable, Iterator

import pytest

from src.providers.gocardless import errors, ids
from src.providers.gocardless.client import GoCardlessClient
from tests.harness.sandbox import SandboxControl

SANDBOX_BANK = "SANDBOXFINANCE_SFIN0000"
# ".." once made the client call `GET /api/v2/` with its token: a dot-segment is removed by URL resolution even
# when every other character is percent-encoded.
NOT_IDS = [".", "..", "", "a/b", "../accounts", "a?b=c", "a#b", "ab\x00cd", "ab\ncd", "%2e%2e", " x"]
A_UUID = "8f1c2a4e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
NOT_UUIDS = [*NOT_IDS, "not-a-uuid", A_UUID + "/", A_UUID[:-1]]  # fixed: parallel workers must collect the same ids

Call = Callable[[GoCardlessClient, str], object]

UUID_CALLS: dict[str, Call] = {
    "get_agreement": lambda client, value: client.get_agreement(value),
    "delete_agreement": lambda client, value: client.delete_agreement(value),
    "get_requisition": lambda client, value: client.get_requisition(value),
    "delete_requisition": lambda client, value: client.delete_requisition(value),
    "get_account": lambda client, value: client.get_account(value),
    "get_account_details": lambda client, value: client.get_account_details(value),
    "get_account_balances": lambda client, value: client.get_account_balances(value),
    "get_account_transactions": lambda client, value: client.get_account_transactions(value),
    "create_requisition(agreement)": lambda client, value: client.create_requisition(
        redirect="http://127.0.0.1/cb", institution_id=SANDBOX_BANK, agreement_id=value
    ),
}
INSTITUTION_CALLS: dict[str, Call] = {
    "get_institution": lambda client, value: client.get_institution(value),
    "create_agreement": lambda client, value: client.create_agreement(
        institution_id=value, max_historical_days=90, access_valid_for_days=90
    ),
    "create_requisition": lambda client, value: client.create_requisition(
        redirect="http://127.0.0.1/cb", institution_id=value
    ),
}


@pytest.fixture
def client(sandbox: SandboxControl) -> Iterator[GoCardlessClient]:
    with GoCardlessClient(
        base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key, sleep=lambda _: None
    ) as gocardless:
        yield gocardless


def _assert_refused_without_a_request(
    sandbox: SandboxControl, client: GoCardlessClient, call: Call, value: str
) -> None:
    sandbox.reset_counters()
    with pytest.raises(errors.InvalidRequestError) as caught:
        call(client, value)
    assert caught.value.summary == "Invalid ID"
    assert caught.value.status_code is None  # refused here: GoCardless never answered
    assert sandbox.counters()["endpoints"] == {}


class TestMalformedIds:
    @pytest.mark.parametrize("value", NOT_UUIDS)
    @pytest.mark.parametrize("name", UUID_CALLS)
    def test_uuid_ids(self, sandbox: SandboxControl, client: GoCardlessClient, name: str, value: str) -> None:
        _assert_refused_without_a_request(sandbox, client, UUID_CALLS[name], value)

    @pytest.mark.parametrize("value", [*NOT_IDS, "x" * 129, "-LEADING_DASH", ".HIDDEN"])
    @pytest.mark.parametrize("name", INSTITUTION_CALLS)
    def test_institution_ids(self, sandbox: SandboxControl, client: GoCardlessClient, name: str, value: str) -> None:
        _assert_refused_without_a_request(sandbox, client, INSTITUTION_CALLS[name], value)


class TestWellFormedIds:
    def test_reach_the_bank_as_one_segment(self, sandbox: SandboxControl, client: GoCardlessClient) -> None:
        assert client.get_institution(SANDBOX_BANK).id == SANDBOX_BANK
        missing = str(uuid.uuid4())
        with pytest.raises(errors.ResourceNotFoundError):
            client.get_account(missing)
        assert sandbox.counters()["endpoints"]["GET /api/v2/accounts/{id}/"] == 1

    def test_the_patterns_accept_what_gocardless_issues(self) -> None:
        for institution in (SANDBOX_BANK, "N26_NTSBDEB1", "REVOLUT_REVOGB21", "BANK-X.Y_1"):
            assert ids.institution_id(institution) == institution
        upper = str(uuid.uuid4()).upper()
        assert ids.uuid_id("account", upper) == upper
        value = uuid.uuid4()
        assert ids.uuid_id("account", value) == str(value)
