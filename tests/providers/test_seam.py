"""The provider seam (src/providers/seam.py) over HTTP against both real sandboxes.

One scenario is written once against `BankDataProvider` and run for GoCardless and for Enable Banking: the banks of a
country, a consent started, approved at the sandbox in place of the person's browser, completed, its accounts
listed, one account read (details, balances, every transaction), the consent ended, and a read after the end. Then
each provider's failures come out as the seam's typed outcomes: a used-up quota, a 5xx that outlasts the retries,
credentials or an application refused, an unknown account, a refused code.

`World` holds what differs between the providers (how the sandbox approves, how it limits or breaks, where a
payload keeps its amount); the tests never ask which provider they run.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.redirect import read_redirect
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.seam import GoCardlessProvider
from src.providers.gocardless.tokens import InMemoryTokenStore
from src.providers.seam import (
    BankDataProvider,
    ConsentEnded,
    ConsentStart,
    Misconfigured,
    NotFound,
    Person,
    ProviderError,
    RateLimited,
    Refused,
    Unavailable,
)
from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxControl
from tests.harness.sandbox import SandboxControl

REDIRECT = "http://127.0.0.1:8000/api/connections/callback"
PERSON = Person(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64)")
DECIMAL_STRING = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass
class World:
    """One provider on its sandbox, and the sandbox levers a test pulls."""

    provider: BankDataProvider
    country: str
    bank_name: str
    approve: Callable[[ConsentStart], str | None]  # the person approves at the bank: the code they come back with
    use_up_quota: Callable[[], object]
    fail_with_5xx: Callable[[], object]
    misconfigured: Callable[[], AbstractContextManager[BankDataProvider]]
    amount: Callable[[dict[str, Any]], Any]  # a transaction's amount, as the payload holds it
    balance_amount: Callable[[dict[str, Any]], Any]
    details_iban: Callable[[dict[str, Any]], Any]
    after_end: type[ProviderError]  # what a read answers once the consent is ended
    person_spares_quota: bool
    sleeps: list[float] = field(default_factory=list)


def _gocardless_world(sandbox: SandboxControl) -> Iterator[World]:
    sleeps: list[float] = []

    def client(secret_key: str = sandbox.secret_key) -> GoCardlessClient:
        return GoCardlessClient(
            base_url=sandbox.base_url,
            secret_id=sandbox.secret_id,
            secret_key=secret_key,
            token_store=InMemoryTokenStore(),
            sleep=sleeps.append,
            jitter=lambda: 0.0,
        )

    def approve(start: ConsentStart) -> None:
        sandbox.approve(start.reference)
        return None

    @contextmanager
    def refused_keys() -> Iterator[BankDataProvider]:
        with client(secret_key="wrong-key-123") as stranger:
            yield GoCardlessProvider(stranger)

    with client() as gocardless:
        yield World(
            provider=GoCardlessProvider(gocardless),
            country="GB",
            bank_name="Sandbox Finance",
            approve=approve,
            use_up_quota=lambda: sandbox.set_limits(account_daily=0),
            fail_with_5xx=lambda: sandbox.set_faults(error_rate=1.0, error_status=500),
            misconfigured=refused_keys,
            amount=lambda item: item["transactionAmount"]["amount"],
            balance_amount=lambda item: item["balanceAmount"]["amount"],
            details_iban=lambda details: details["account"].get("iban"),
            after_end=NotFound,  # GoCardless deletes the requisition's accounts with it
            person_spares_quota=False,
            sleeps=sleeps,
        )


def _enablebanking_world(sandbox: EnableBankingSandboxControl) -> Iterator[World]:
    sleeps: list[float] = []

    def approve(start: ConsentStart) -> str | None:
        redirect = read_redirect(sandbox.approve(start.reference, customer="alice"))
        assert redirect.state == start.state
        return redirect.code

    with EnableBankingClient.from_key_file(
        application_id=APPLICATION_ID,
        private_key_file=sandbox.private_key_file,
        base_url=sandbox.base_url,
        sleep=sleeps.append,
        jitter=lambda: 0.0,
    ) as client:
        provider = EnableBankingProvider(client)

        @contextmanager
        def inactive_application() -> Iterator[BankDataProvider]:
            sandbox.set_application_active(False)
            try:
                yield provider
            finally:
                sandbox.set_application_active(True)

        yield World(
            provider=provider,
            country="FI",
            bank_name="Mock ASPSP",
            approve=approve,
            use_up_quota=lambda: sandbox.set_limits(account_daily=0),
            fail_with_5xx=lambda: sandbox.set_faults(path_prefix="/accounts/", error_status=500, error_count=10),
            misconfigured=inactive_application,
            amount=lambda item: item["transaction_amount"]["amount"],
            balance_amount=lambda item: item["balance_amount"]["amount"],
            details_iban=lambda details: (details.get("account_id") or {}).get("iban"),
            after_end=ConsentEnded,  # the session answers CLOSED_SESSION
            person_spares_quota=True,
            sleeps=sleeps,
        )


@pytest.fixture(params=["gocardless", "enablebanking"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Only the parametrised provider's sandbox is started."""
    if request.param == "gocardless":
        yield from _gocardless_world(request.getfixturevalue("sandbox"))
    else:
        yield from _enablebanking_world(request.getfixturevalue("enablebanking_sandbox"))


def _connect(world: World) -> tuple[str, str]:
    """A consent as a person gives it; its id and its first account's id."""
    provider = world.provider
    bank = next(bank for bank in provider.list_institutions(world.country) if bank.name == world.bank_name)
    start = provider.start_consent(bank, redirect_url=REDIRECT, state=uuid.uuid4().hex)
    consent = provider.complete_consent(reference=start.reference, authorization_code=world.approve(start))
    assert consent.status == "active"
    return consent.id, consent.accounts[0].id


def test_a_consent_from_the_banks_of_a_country_to_its_end(world: World) -> None:
    provider = world.provider
    banks = provider.list_institutions(world.country.lower())
    assert banks
    assert all(world.country in bank.countries and bank.provider == provider.name for bank in banks)
    bank = next(bank for bank in banks if bank.name == world.bank_name)
    assert bank.payload["name"] == world.bank_name  # the provider's record, verbatim

    state = uuid.uuid4().hex
    start = provider.start_consent(bank, redirect_url=REDIRECT, state=state, valid_days=30)
    assert (start.kind, start.state, start.provider) == ("redirect", state, provider.name)
    assert start.url.startswith("http")
    assert start.payloads  # what the raw tables keep

    consent = provider.complete_consent(reference=start.reference, authorization_code=world.approve(start))
    assert consent.status == "active"
    assert consent.accounts
    assert consent.valid_until is not None
    assert datetime.now(UTC) < consent.valid_until <= datetime.now(UTC) + timedelta(days=31)
    listed = provider.list_accounts(consent.id)
    assert [account.id for account in listed] == [account.id for account in consent.accounts]

    account = consent.accounts[0]
    details = provider.account_details(account.id, person=PERSON)
    assert world.details_iban(details) == account.iban
    balances = provider.account_balances(account.id)
    assert balances
    assert all(DECIMAL_STRING.match(world.balance_amount(balance)) for balance in balances)
    read = provider.account_transactions(account.id)
    assert read.booked
    assert read.complete
    amounts = [world.amount(item) for item in read.booked + read.pending + read.other]
    assert all(isinstance(amount, str) and DECIMAL_STRING.match(amount) for amount in amounts)
    assert sum(Decimal(amount) for amount in amounts) != 0

    provider.end_consent(consent.id)
    with pytest.raises(world.after_end) as caught:
        provider.account_balances(account.id)
    assert caught.value.provider == provider.name
    provider.end_consent(consent.id)  # ending it again leaves it ended, no error


def test_a_used_up_quota_is_rate_limited_until_its_reset(world: World) -> None:
    _, account_id = _connect(world)
    world.use_up_quota()
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        world.provider.account_transactions(account_id)
    assert caught.value.reset_at is not None
    assert before < caught.value.reset_at <= before + timedelta(days=1, minutes=1)
    if world.person_spares_quota:  # a person present is not counted against the unattended quota
        assert world.provider.account_transactions(account_id, person=PERSON).booked
    else:
        with pytest.raises(RateLimited):
            world.provider.account_transactions(account_id, person=PERSON)


def test_5xx_after_the_retries_is_unavailable(world: World) -> None:
    _, account_id = _connect(world)
    world.fail_with_5xx()
    with pytest.raises(Unavailable) as caught:
        world.provider.account_balances(account_id)
    assert caught.value.status_code == 500
    assert len(world.sleeps) == 3  # four attempts, no real waiting


def test_refused_credentials_or_application_are_misconfigured(world: World) -> None:
    with world.misconfigured() as provider, pytest.raises(Misconfigured) as caught:
        provider.list_institutions(world.country)
    assert "wrong-key-123" not in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message
    assert world.provider.list_institutions(world.country)  # restored


def test_an_unknown_account_is_not_found_and_a_bad_reference_refused(world: World) -> None:
    with pytest.raises(NotFound):
        world.provider.account_details(str(uuid.uuid4()))
    with pytest.raises(Refused):
        world.provider.complete_consent(reference="not-a-reference", authorization_code="not-a-code")


def test_both_adapters_are_bank_data_providers(
    gocardless: GoCardlessClient, enablebanking_sandbox: EnableBankingSandboxControl
) -> None:
    with EnableBankingClient.from_key_file(
        application_id=APPLICATION_ID,
        private_key_file=enablebanking_sandbox.private_key_file,
        base_url=enablebanking_sandbox.base_url,
    ) as client:
        providers: list[BankDataProvider] = [GoCardlessProvider(gocardless), EnableBankingProvider(client)]
        assert all(isinstance(provider, BankDataProvider) for provider in providers)
        assert [provider.name for provider in providers] == ["gocardless", "enablebanking"]


def test_gocardless_asks_the_banks_maxima_then_its_defaults(
    sandbox: SandboxControl, gocardless: GoCardlessClient
) -> None:
    """The connect flow's agreement: the bank's announced history and access days; when GoCardless refuses those
    (the announcement is a hint), its defaults."""
    provider = GoCardlessProvider(gocardless)
    bank = next(bank for bank in provider.list_institutions("GB") if bank.name == "Sandbox Finance")
    start = provider.start_consent(bank, redirect_url=REDIRECT, state="s-" + uuid.uuid4().hex)
    agreement = start.payloads["agreement"]
    assert (agreement["max_historical_days"], agreement["access_valid_for_days"]) == (730, 180)
    assert start.payloads["requisition"]["agreement"] == agreement["id"]

    overstated = replace(bank, history_days=5000)
    start = provider.start_consent(overstated, redirect_url=REDIRECT, state="s-" + uuid.uuid4().hex)
    agreement = start.payloads["agreement"]
    assert (agreement["max_historical_days"], agreement["access_valid_for_days"]) == (90, 90)


def test_enablebanking_reads_unattended_when_the_person_lacks_a_header_the_bank_wants(
    enablebanking_sandbox: EnableBankingSandboxControl,
) -> None:
    """Fjord Sparbank wants the person's address and agent, all or none: a person without an agent is read as no
    person (counted against the unattended quota) rather than refused."""
    with EnableBankingClient.from_key_file(
        application_id=APPLICATION_ID,
        private_key_file=enablebanking_sandbox.private_key_file,
        base_url=enablebanking_sandbox.base_url,
    ) as client:
        provider = EnableBankingProvider(client)
        bank = next(bank for bank in provider.list_institutions("SE") if bank.name == "Fjord Sparbank")
        start = provider.start_consent(bank, redirect_url=REDIRECT, state="s-1")
        code = read_redirect(enablebanking_sandbox.approve(start.reference, customer="bob")).code
        uid = provider.complete_consent(reference=start.reference, authorization_code=code).accounts[0].id
        enablebanking_sandbox.reset_counters()
        assert provider.account_balances(uid, person=PERSON)
        assert provider.account_balances(uid, person=Person(ip_address="203.0.113.7"))
        counter = enablebanking_sandbox.counters()["accounts"][uid]["balances"]
        assert (counter["calls"], counter["ok"], counter["attended"]) == (3, 2, 1)  # one refused, asked again
