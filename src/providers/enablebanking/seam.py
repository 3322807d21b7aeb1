"""Enable Banking behind the provider seam (src/providers/seam.py).

Enable Banking names a bank by its name and country, so a bank's id on the seam is "<country>:<name>" (the API's
own institution ids are made above the seam). A consent is `POST /auth` (`start_authorization`), completed by the
code on the bank's redirect (`POST /sessions`, which brings the accounts), and ended by deleting the session.

A person present becomes PSU headers (`PsuContext`), which spare the bank's unattended quota. When a bank wants a
header the person's request does not give (PSU_HEADER_NOT_PROVIDED), the read is asked once more without any, as an
unattended read: the client's rule that a bank gets all of its required headers or none, applied without knowing
the bank's list here. Every Enable Banking error leaves as the seam's (`seam_error`).
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from src.providers.enablebanking import errors as eb
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.models import Account, Aspsp, SessionStatus, TransactionStatus
from src.providers.enablebanking.psu import PsuContext
from src.providers.seam import (
    AccountRef,
    Bank,
    BankDataProvider,
    BankFailure,
    Consent,
    ConsentEnded,
    ConsentStart,
    Misconfigured,
    NotFound,
    Person,
    ProviderError,
    RateLimited,
    Refused,
    TransactionsRead,
    Unavailable,
)

log = logging.getLogger(__name__)

PROVIDER = "enablebanking"
PSU_HEADER_NOT_PROVIDED = "PSU_HEADER_NOT_PROVIDED"
WRONG_SESSION_STATUS = "WRONG_SESSION_STATUS"
_BOOKED = frozenset({TransactionStatus.BOOK.value})
_PENDING = frozenset({TransactionStatus.PDNG.value, TransactionStatus.HOLD.value, TransactionStatus.SCHD.value})
_OPEN = frozenset({SessionStatus.PENDING_AUTHORIZATION, SessionStatus.RETURNED_FROM_BANK})
_DAY = 86_400

T = TypeVar("T")


def seam_error(exc: eb.EnableBankingError) -> ProviderError:
    """The seam's outcome for an Enable Banking error. The message is the body's own code, message and detail
    (never the key or the JWT); `code` is the body's `error` code."""
    message = str(exc) or type(exc).__name__
    common: dict[str, Any] = {"provider": PROVIDER, "code": exc.error_code, "status_code": exc.status_code}
    if isinstance(exc, eb.RateLimitedError):
        return RateLimited(message, reset_at=exc.reset_at, **common)
    if isinstance(exc, eb.SessionEndedError):
        reason = exc.error_code.removesuffix("_SESSION").lower() if exc.error_code else None
        return ConsentEnded(message, reason=reason, **common)
    if isinstance(exc, eb.ResourceNotFoundError):
        return NotFound(message, **common)
    if isinstance(exc, eb.BankError):
        return BankFailure(message, **common)
    if isinstance(exc, eb.MisconfiguredError):
        return Misconfigured(message, **common)
    if isinstance(exc, eb.ConnectionFailedError | eb.UpstreamServerError):
        return Unavailable(message, **common)
    if isinstance(exc, eb.InvalidRequestError):  # AuthorizationCodeError and WrongTransactionsPeriodError too
        return Refused(message, **common)
    return ProviderError(message, **common)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except eb.EnableBankingError as exc:
        raise seam_error(exc) from exc


def bank_id(country: str, name: str) -> str:
    return f"{country.upper()}:{name}"


class EnableBankingProvider:
    """`BankDataProvider` over an `EnableBankingClient` (the caller owns the client and closes it)."""

    name: str = PROVIDER

    def __init__(self, client: EnableBankingClient, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._now = now

    # -- banks and consents ---------------------------------------------------------------------------------------
    def list_institutions(self, country: str) -> list[Bank]:
        with _translated():
            return [_bank(aspsp) for aspsp in self._client.list_aspsps(country)]

    def start_consent(
        self,
        bank: Bank,
        *,
        redirect_url: str,
        state: str,
        history_days: int | None = None,
        valid_days: int | None = None,
    ) -> ConsentStart:
        """`POST /auth` for the bank; `valid_days` capped by the client at the bank's maximum consent validity.
        An Enable Banking consent has no history period (each bank gives what it keeps): `history_days` is
        ignored."""
        valid_until = self._now() + timedelta(days=valid_days) if valid_days else None
        with _translated():
            authorization = self._client.start_authorization(
                aspsp=_aspsp(bank), redirect_url=redirect_url, state=state, valid_until=valid_until
            )
        return ConsentStart(
            provider=PROVIDER,
            kind="redirect",
            url=authorization.url,
            reference=authorization.authorization_id,
            state=state,
            payloads={"authorization": authorization.payload},
        )

    def complete_consent(self, *, reference: str, authorization_code: str | None = None) -> Consent:
        """The redirect's code (`authorization_code`) opens the session (single use: never sent twice);
        `reference` (the authorization id) only names it in the logs. No code means the person did not approve:
        Refused."""
        if not authorization_code:
            raise Refused("the bank sent no authorisation code back", provider=PROVIDER)
        with _translated():
            opened = self._client.create_session(authorization_code)
        log.info(
            "enablebanking session opened",
            extra={"authorization_id": reference, "session_id": opened.session_id, "accounts": len(opened.accounts)},
        )
        return Consent(
            provider=PROVIDER,
            id=opened.session_id,
            status="active",
            accounts=tuple(_account(account) for account in opened.accounts),
            valid_until=opened.access.valid_until,
            payloads={"session": opened.payload},
        )

    def list_accounts(self, consent_id: str) -> list[AccountRef]:
        with _translated():
            session = self._client.get_session(consent_id)
        if session.status in _OPEN:
            return []
        if session.status is not SessionStatus.AUTHORIZED:
            raise ConsentEnded(
                f"the session is {session.status.value}", provider=PROVIDER, reason=session.status.value.lower()
            )
        if session.accounts_data:
            return [
                AccountRef(id=item.uid, stable_key=item.identification_hash, payload=item.payload)
                for item in session.accounts_data
            ]
        return [AccountRef(id=uid) for uid in session.accounts]

    def end_consent(self, consent_id: str) -> None:
        """Deletes the session (Enable Banking closes the bank's consent where it can); one already over or
        unknown is left at that."""
        try:
            self._client.delete_session(consent_id)
        except (eb.SessionEndedError, eb.ResourceNotFoundError) as exc:
            log.info("enablebanking session already over", extra={"session_id": consent_id, "error": exc.error_code})
        except eb.InvalidRequestError as exc:
            # A session closed before answers WRONG_SESSION_STATUS, as would one in a state that cannot be closed:
            # its status tells them apart.
            if exc.error_code != WRONG_SESSION_STATUS or not self._is_over(consent_id):
                raise seam_error(exc) from exc
            log.info("enablebanking session already over", extra={"session_id": consent_id, "error": exc.error_code})
        except eb.EnableBankingError as exc:
            raise seam_error(exc) from exc

    def _is_over(self, session_id: str) -> bool:
        with _translated():
            status = self._client.get_session(session_id).status
        return status not in _OPEN and status is not SessionStatus.AUTHORIZED

    # -- reading ------------------------------------------------------------------------------------------------------
    def account_details(self, account_id: str, *, person: Person | None = None) -> dict[str, Any]:
        account = self._read(account_id, person, lambda psu: self._client.account_details(account_id, psu=psu))
        return account.payload

    def account_balances(self, account_id: str, *, person: Person | None = None) -> list[dict[str, Any]]:
        balances = self._read(account_id, person, lambda psu: self._client.account_balances(account_id, psu=psu))
        return [balance.payload for balance in balances]

    def account_transactions(
        self,
        account_id: str,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        person: Person | None = None,
    ) -> TransactionsRead:
        """Every page (the client follows `continuation_key`), split by status: BOOK booked; PDNG, HOLD, SCHD
        pending; the rest (CNCL, RJCT, OTHR, unknown) other. The period is the one the bank let the client read."""
        read = self._read(
            account_id,
            person,
            lambda psu: self._client.account_transactions(account_id, date_from=date_from, date_to=date_to, psu=psu),
        )
        booked: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        other: list[dict[str, Any]] = []
        for item in read.transactions:
            status = str(item.status).upper()
            (booked if status in _BOOKED else pending if status in _PENDING else other).append(item.payload)
        return TransactionsRead(
            booked=booked,
            pending=pending,
            other=other,
            date_from=read.date_from,
            date_to=read.date_to,
            complete=read.complete,
        )

    def _read(self, account_id: str, person: Person | None, call: Callable[[PsuContext | None], T]) -> T:
        psu = PsuContext(ip_address=person.ip_address, user_agent=person.user_agent) if person else None
        with _translated():
            try:
                return call(psu)
            except eb.InvalidRequestError as exc:
                if psu is None or exc.error_code != PSU_HEADER_NOT_PROVIDED:
                    raise
                log.info(
                    "the bank wants a PSU header the person's request lacks; reading unattended",
                    extra={"account_uid": account_id},
                )
                return call(None)


def _aspsp(bank: Bank) -> Aspsp:
    """The bank's verbatim `/aspsps` record when the `Bank` carries it, else its name and country from the id."""
    if bank.payload.get("name") and bank.payload.get("country"):
        return Aspsp.from_payload(dict(bank.payload))
    country, separator, name = bank.id.partition(":")
    if not separator or not country or not name:
        raise Refused(f"{bank.id!r} does not name an Enable Banking bank (<country>:<name>)", provider=PROVIDER)
    return Aspsp.from_payload({"name": name, "country": country})


def _bank(aspsp: Aspsp) -> Bank:
    validity = aspsp.maximum_consent_validity
    return Bank(
        provider=PROVIDER,
        id=bank_id(aspsp.country, aspsp.name),
        name=aspsp.name,
        countries=(aspsp.country.upper(),),
        bic=aspsp.bic,
        logo=aspsp.logo,
        access_days=validity // _DAY if validity and validity > 0 else None,
        payload=aspsp.payload,
    )


def _account(account: Account) -> AccountRef:
    return AccountRef(
        id=str(account.uid or ""),
        stable_key=account.identification_hash,
        iban=account.iban,
        name=account.name,
        currency=account.currency,
        payload=account.payload,
    )


if TYPE_CHECKING:
    _conforms: type[BankDataProvider] = EnableBankingProvider
