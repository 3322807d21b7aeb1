"""GoCardless behind the provider seam (src/providers/seam.py), with its behaviour unchanged: the client's own
calls, retries and rate-limit reading, and the consent made as the connect flow makes it today (an end-user
agreement asking for the bank's announced history and access days, GoCardless's defaults when it refuses those,
then a requisition whose reference is the caller's state).

GoCardless has no code on its redirect (the bank sends the person back with `?ref=<reference>`): a consent is
completed by its requisition id. It has no notion of a person present, so `person` is ignored. Every GoCardless
error leaves as the seam's (`seam_error`).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from src.providers.gocardless import errors as gc
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.models import (
    DEFAULT_ACCESS_DAYS,
    DEFAULT_HISTORY_DAYS,
    AccountMetadata,
    Agreement,
    Institution,
    Requisition,
)
from src.providers.seam import (
    AccountRef,
    Bank,
    BankDataProvider,
    Consent,
    ConsentEnded,
    ConsentStart,
    ConsentStatus,
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

PROVIDER = "gocardless"
SCOPES = ["balances", "details", "transactions"]
_LINKED = "LN"
_ENDED = {"EX": "expired", "SU": "suspended", "RJ": "rejected"}


def seam_error(exc: gc.GoCardlessError) -> ProviderError:
    """The seam's outcome for a GoCardless error. The message is GoCardless's summary and detail (never a secret:
    the client keeps only those from a body); `code` is the bank-side `type` when there is one."""
    message = str(exc) or type(exc).__name__
    common: dict[str, Any] = {"provider": PROVIDER, "code": exc.error_type, "status_code": exc.status_code}
    if isinstance(exc, gc.RateLimitExceededError):
        return RateLimited(message, reset_at=exc.reset_at, scope=exc.scope, **common)
    if isinstance(exc, gc.AgreementExpiredError):
        return ConsentEnded(message, reason="expired", **common)
    if isinstance(exc, gc.AccessExpiredError):
        reason = "inactive" if exc.error_type == "AccountInactiveError" else "revoked"
        return ConsentEnded(message, reason=reason, **common)
    if isinstance(exc, gc.AccountSuspendedError):
        return ConsentEnded(f"suspended: {message}", reason="suspended", **common)
    if isinstance(exc, gc.ResourceNotFoundError):
        return NotFound(message, **common)
    if isinstance(exc, gc.ConnectionFailedError | gc.UpstreamServerError):
        return Unavailable(message, **common)
    if isinstance(exc, gc.AuthenticationFailedError | gc.InvalidTokenError):
        return Misconfigured(f"GoCardless refused finsync's credentials: {message}", **common)
    if isinstance(exc, gc.PaymentRequiredError):
        return Misconfigured(f"GoCardless's usage allowance is used up: {message}", **common)
    if isinstance(exc, gc.InvalidRequestError | gc.ForbiddenError):
        return Refused(message, **common)
    return ProviderError(message, **common)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except gc.GoCardlessError as exc:
        raise seam_error(exc) from exc


class GoCardlessProvider:
    """`BankDataProvider` over a `GoCardlessClient` (the caller owns the client and closes it)."""

    name: str = PROVIDER

    def __init__(self, client: GoCardlessClient) -> None:
        self._client = client

    # -- banks and consents ---------------------------------------------------------------------------------------
    def list_institutions(self, country: str) -> list[Bank]:
        with _translated():
            return [_bank(institution) for institution in self._client.list_institutions(country)]

    def start_consent(
        self,
        bank: Bank,
        *,
        redirect_url: str,
        state: str,
        history_days: int | None = None,
        valid_days: int | None = None,
    ) -> ConsentStart:
        """An agreement, then a requisition whose reference is `state` (what the bank's redirect brings back).
        A requisition that cannot be made takes its fresh agreement with it."""
        history = _capped(history_days, bank.history_days, DEFAULT_HISTORY_DAYS)
        access = _capped(valid_days, bank.access_days, DEFAULT_ACCESS_DAYS)
        with _translated():
            agreement = self._agreement(bank.id, history, access)
        try:
            requisition = self._client.create_requisition(
                redirect=redirect_url, institution_id=bank.id, reference=state, agreement_id=agreement.id
            )
        except gc.GoCardlessError as exc:
            try:
                self._client.delete_agreement(agreement.id)
            except gc.GoCardlessError:
                log.warning("orphan agreement left at GoCardless", extra={"agreement_id": agreement.id})
            raise seam_error(exc) from exc
        return ConsentStart(
            provider=PROVIDER,
            kind="redirect",
            url=str(requisition.link or ""),
            reference=requisition.id,
            state=state,
            payloads={"agreement": agreement.payload, "requisition": requisition.payload},
        )

    def _agreement(self, institution_id: str, history: int, access: int) -> Agreement:
        try:
            return self._client.create_agreement(
                institution_id=institution_id,
                max_historical_days=history,
                access_valid_for_days=access,
                access_scope=SCOPES,
            )
        except gc.InvalidRequestError:
            # The bank's announced maxima are hints; fall back to GoCardless's defaults.
            log.info(
                "agreement refused with the bank's maxima; asking GoCardless's defaults",
                extra={"institution_id": institution_id, "history_days": history, "access_days": access},
            )
            return self._client.create_agreement(
                institution_id=institution_id,
                max_historical_days=min(history, DEFAULT_HISTORY_DAYS),
                access_valid_for_days=min(access, DEFAULT_ACCESS_DAYS),
                access_scope=SCOPES,
            )

    def complete_consent(self, *, reference: str, authorization_code: str | None = None) -> Consent:
        """`reference` is the requisition id; GoCardless hands no code. The requisition, its agreement and each
        account's metadata (IBAN, status: it spends no daily quota) as GoCardless reports them now."""
        with _translated():
            requisition = self._client.get_requisition(reference)
            agreement = self._client.get_agreement(requisition.agreement) if requisition.agreement else None
            accounts = self._accounts(requisition) if requisition.status == _LINKED else ()
        payloads: dict[str, Any] = {"requisition": requisition.payload}
        valid_until = None
        if agreement is not None:
            payloads["agreement"] = agreement.payload
            if agreement.accepted is not None:
                valid_until = agreement.accepted + timedelta(days=agreement.access_valid_for_days)
        return Consent(
            provider=PROVIDER,
            id=requisition.id,
            status=_status(requisition.status),
            accounts=tuple(accounts),
            valid_until=valid_until,
            payloads=payloads,
        )

    def list_accounts(self, consent_id: str) -> list[AccountRef]:
        with _translated():
            requisition = self._client.get_requisition(consent_id)
            if requisition.status in _ENDED:
                reason = _ENDED[requisition.status]
                raise ConsentEnded(
                    f"the requisition is {reason} ({requisition.status})", provider=PROVIDER, reason=reason
                )
            return self._accounts(requisition) if requisition.status == _LINKED else []

    def _accounts(self, requisition: Requisition) -> list[AccountRef]:
        return [_account(self._client.get_account(account_id)) for account_id in requisition.accounts]

    def end_consent(self, consent_id: str) -> None:
        """Deletes the requisition and its agreement at GoCardless; one already gone is left at that."""
        try:
            self._client.delete_requisition(consent_id)
        except gc.ResourceNotFoundError:
            log.info("requisition already gone at GoCardless", extra={"requisition_id": consent_id})
        except gc.GoCardlessError as exc:
            raise seam_error(exc) from exc

    # -- reading ------------------------------------------------------------------------------------------------------
    def account_details(self, account_id: str, *, person: Person | None = None) -> dict[str, Any]:
        with _translated():
            return self._client.get_account_details(account_id).payload

    def account_balances(self, account_id: str, *, person: Person | None = None) -> list[dict[str, Any]]:
        with _translated():
            payload = self._client.get_account_balances(account_id).payload
        return list(payload.get("balances") or [])

    def account_transactions(
        self,
        account_id: str,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        person: Person | None = None,
    ) -> TransactionsRead:
        """One call: GoCardless answers a period whole (no paging). The period read is the one asked."""
        with _translated():
            payload = self._client.get_account_transactions(account_id, date_from=date_from, date_to=date_to).payload
        lists = payload.get("transactions") or {}
        other = [
            item
            for key, items in lists.items()
            if key not in {"booked", "pending"} and isinstance(items, list)
            for item in items
            if isinstance(item, dict)
        ]
        return TransactionsRead(
            booked=list(lists.get("booked") or []),
            pending=list(lists.get("pending") or []),
            other=other,
            date_from=date_from,
            date_to=date_to,
            complete=True,
        )


def _capped(wanted: int | None, bank_maximum: int | None, default: int) -> int:
    """What the connect flow asks for: the bank's announced maximum (GoCardless's default when it announces none),
    or less when the caller wants less."""
    most = bank_maximum or default
    return min(wanted, most) if wanted else most


def _status(status: str) -> ConsentStatus:
    if status == _LINKED:
        return "active"
    if status == "RJ":
        return "refused"
    if status in _ENDED:
        return "ended"
    return "pending"


def _bank(institution: Institution) -> Bank:
    return Bank(
        provider=PROVIDER,
        id=institution.id,
        name=institution.name,
        countries=tuple(country.upper() for country in institution.countries),
        bic=institution.bic,
        logo=institution.logo,
        history_days=institution.transaction_total_days,
        access_days=institution.max_access_valid_for_days,
        payload=institution.payload,
    )


def _account(metadata: AccountMetadata) -> AccountRef:
    return AccountRef(
        id=metadata.id,
        iban=metadata.iban,
        name=metadata.name,
        payload=metadata.payload,
    )


if TYPE_CHECKING:
    _conforms: type[BankDataProvider] = GoCardlessProvider
