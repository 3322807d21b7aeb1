"""The provider seam: the one vocabulary finsync speaks to any bank-data provider (GoCardless, Enable Banking, later
SimpleFIN), so that what sits above src/providers/ need not know which one it talks to.

Pure Python on purpose (dataclasses, a `typing.Protocol`): the seam names what a provider does, never how. Each
provider's adapter (`src/providers/<provider>/seam.py`) wraps its own client and translates its own errors into the
typed outcomes below; the clients stay as they are.

What crosses the seam:
- banks (`Bank`), consents (`ConsentStart`, then `Consent`), accounts (`AccountRef`);
- payloads as the provider's own dicts, verbatim: finsync stores what a provider said, unchanged, and normalises it
  later (src/ingest/), so the seam never reshapes a transaction or a balance;
- the person, when one is present (`Person`): some providers exempt a read from the unattended quota when it
  carries the person's address and agent; others ignore it;
- failures as exceptions, one class per meaning a caller acts on (`ProviderError` and its subclasses). Their
  messages are the provider's own error summaries, which never hold finsync's secrets or tokens.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

ConsentKind = Literal["redirect", "token"]
"""How a consent is given: `redirect`, the person is sent to `url` and comes back to finsync's redirect URL (with a
code at Enable Banking); `token`, the person fetches a token at `url` and pastes it into finsync (SimpleFIN)."""

ConsentStatus = Literal["pending", "active", "refused", "ended"]
"""A consent as finsync acts on it: not yet given · data may be read · the person or the bank said no · over
(expired, revoked, closed, suspended: the person must authorise again)."""


# -- the vocabulary -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Person:
    """The person at the other end right now (Sync now, the connect flow), as their browser reached finsync.
    Absent on scheduled runs: a provider must never be told a person is present when none is."""

    ip_address: str
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Bank:
    """One bank a provider can connect to. `id` is the provider's own name for it on the seam (a GoCardless
    institution id; "<country>:<name>" at Enable Banking, which names banks by that pair); `payload` is the
    provider's verbatim record, which is what `start_consent` reads back."""

    provider: str
    id: str
    name: str
    countries: tuple[str, ...] = ()
    bic: str | None = None
    logo: str | None = None
    history_days: int | None = None  # how far back the bank says it gives transactions, when it says
    access_days: int | None = None  # how long the bank lets a consent last, when it says
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ConsentStart:
    """A consent started: where to send the person (`url`), and what `complete_consent` takes back (`reference`).
    `state` is the caller's single-use capability, echoed: it comes back on the redirect. `payloads` holds the
    provider's verbatim objects made on the way, by their own names (a GoCardless agreement and requisition, an
    Enable Banking authorization), for the raw tables."""

    provider: str
    kind: ConsentKind
    url: str
    reference: str
    state: str
    payloads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class AccountRef:
    """One account a consent gives. `id` reads its data (it may change with every consent at Enable Banking);
    `stable_key` is what finds the same account again across consents when the provider has one."""

    id: str
    stable_key: str | None = None
    iban: str | None = None
    name: str | None = None
    currency: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent as the provider reports it once the person came back: its id (what `list_accounts` and
    `end_consent` take), its status, the accounts it gives, until when, and the provider's verbatim objects."""

    provider: str
    id: str
    status: ConsentStatus
    accounts: tuple[AccountRef, ...] = ()
    valid_until: datetime | None = None
    payloads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class TransactionsRead:
    """Every page of one account's transactions in a period, as the provider's own dicts, split the way the
    provider says: `booked`, `pending`, and `other` (cancelled, rejected, or a status of its own: src/ingest/
    decides what those mean). `date_from`/`date_to` are the period actually read (a bank may impose another; None:
    the provider's default); `complete` is False when the provider's paging was cut short (what was read is kept)."""

    booked: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    other: list[dict[str, Any]] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    complete: bool = True


# -- the interface ----------------------------------------------------------------------------------------------------
@runtime_checkable
class BankDataProvider(Protocol):
    """What finsync asks of any bank-data provider. Every method raises only `ProviderError` subclasses."""

    name: str

    def list_institutions(self, country: str) -> list[Bank]:
        """The banks of a country (ISO 3166 alpha-2, any case)."""
        ...

    def start_consent(
        self,
        bank: Bank,
        *,
        redirect_url: str,
        state: str,
        history_days: int | None = None,
        valid_days: int | None = None,
    ) -> ConsentStart:
        """Start a consent at `bank`. `history_days`/`valid_days` are wishes, capped at what the bank allows; None
        asks for the most the bank gives (a provider without the notion ignores it)."""
        ...

    def complete_consent(self, *, reference: str, authorization_code: str | None = None) -> Consent:
        """The person came back: `reference` from `ConsentStart`, and `authorization_code` when the provider hands
        one on the redirect (or the token the person pasted)."""
        ...

    def list_accounts(self, consent_id: str) -> list[AccountRef]:
        """The accounts a consent gives now: none while it is pending; ConsentEnded once it is over."""
        ...

    def account_details(self, account_id: str, *, person: Person | None = None) -> dict[str, Any]:
        """The provider's verbatim details of the account."""
        ...

    def account_balances(self, account_id: str, *, person: Person | None = None) -> list[dict[str, Any]]:
        """The provider's verbatim balances of the account."""
        ...

    def account_transactions(
        self,
        account_id: str,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        person: Person | None = None,
    ) -> TransactionsRead:
        """Every page of the account's transactions in the period (None: the provider's default)."""
        ...

    def end_consent(self, consent_id: str) -> None:
        """End the consent at the provider. One that is already over (or gone) is not an error: the caller wants
        no live consent left, and there is none."""
        ...


# -- typed outcomes -----------------------------------------------------------------------------------------------
class ProviderError(Exception):
    """A provider call failed. `message` is safe to log and show (the provider's own summary: never a secret or a
    token); `code` is the provider's own error code when it gave one; the provider's exception is the
    `__cause__`."""

    def __init__(self, message: str, *, provider: str, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.status_code = status_code


class RateLimited(ProviderError):
    """A quota is used up (the provider's, or the bank's unattended reads). `reset_at` is when calls may resume,
    when the provider said; `scope` names the quota when it did (GoCardless: details, balances, transactions or
    general). Never worth retrying before `reset_at`."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        reset_at: datetime | None,
        scope: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code, status_code=status_code)
        self.reset_at = reset_at
        self.scope = scope


class ConsentEnded(ProviderError):
    """The consent is over (expired, revoked, closed, suspended, refused): the person must authorise again.
    `reason` says which, in the provider's terms lower-cased, when known."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        reason: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code, status_code=status_code)
        self.reason = reason


class BankFailure(ProviderError):
    """The bank behind the provider failed or refused (its error, its timeout, an account it will not open)."""


class NotFound(ProviderError):
    """No such bank, consent or account at the provider."""


class Misconfigured(ProviderError):
    """finsync's side is wrong: keys refused, application inactive, a redirect URL not registered, the plan's
    allowance used up. Neither a retry nor the person can fix it; the operator must."""


class Unavailable(ProviderError):
    """No answer, or a 5xx, after the retries the client allows: try again later."""


class Refused(ProviderError):
    """The provider refused the request as made (bad parameters, a code it will not take, a period the bank
    refuses)."""
