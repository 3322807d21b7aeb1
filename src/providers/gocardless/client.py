"""The GoCardless Bank Account Data client: one pooled httpx client, typed results, typed errors.

Every call goes through `_send`: a valid token from the `TokenManager`, a timeout, one log line per request
(method, path, status, milliseconds: never a token or a secret), the rate-limit headers parsed, retries with
capped, jittered backoff for idempotent calls only, and one refresh-and-retry on a 401.

Creating a requisition is never retried blindly: when the answer is lost (timeout), the client looks the
requisition up by its unique reference, because each requisition counts against the bank-connection allowance.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from src import clock
from src.providers.gocardless import errors, ids
from src.providers.gocardless.models import (
    AccountBalances,
    AccountDetails,
    AccountMetadata,
    AccountTransactions,
    Agreement,
    Institution,
    Requisition,
    RequisitionPage,
)
from src.providers.gocardless.ratelimits import RateLimits
from src.providers.gocardless.tokens import InMemoryTokenStore, InvalidRefreshError, TokenManager, TokenPair, TokenStore
from src.providers.retry import backoff_seconds, parse_retry_after, should_retry

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_ACCOUNT_SCOPE = re.compile(r"/accounts/[^/]+/(details|balances|transactions)/")
_TRY_AGAIN = re.compile(r"try again in (\d+) seconds", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class GoCardlessClient:
    def __init__(
        self,
        *,
        base_url: str,
        secret_id: str,
        secret_key: str,
        token_store: TokenStore | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 4,
        max_connections: int = 20,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v2",
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Accept": "application/json", "User-Agent": "finsync"},
        )
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._jitter = jitter
        self.tokens = TokenManager(
            token_store or InMemoryTokenStore(), obtain_new=self._token_new, refresh=self._token_refresh
        )

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "GoCardlessClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- tokens ---------------------------------------------------------------------------------------------------
    def _token_new(self) -> TokenPair:
        body, _ = self._send(
            "POST", "/token/new/", json={"secret_id": self._secret_id, "secret_key": self._secret_key}, auth=False
        )
        now = datetime.now(UTC)
        return TokenPair(
            access=str(body["access"]),
            access_expires_at=now + timedelta(seconds=int(body["access_expires"])),
            refresh=str(body["refresh"]),
            refresh_expires_at=now + timedelta(seconds=int(body["refresh_expires"])),
        )

    def _token_refresh(self, refresh: str) -> tuple[str, datetime]:
        try:
            body, _ = self._send("POST", "/token/refresh/", json={"refresh": refresh}, auth=False)
        except errors.InvalidTokenError as exc:
            raise InvalidRefreshError() from exc
        return str(body["access"]), datetime.now(UTC) + timedelta(seconds=int(body["access_expires"]))

    # -- institutions ---------------------------------------------------------------------------------------------
    def list_institutions(self, country: str | None = None) -> list[Institution]:
        params = {"country": country.lower()} if country else None
        body, limits = self._send("GET", "/institutions/", params=params)
        return [Institution.from_payload(item, limits) for item in body]

    def get_institution(self, institution_id: str) -> Institution:
        body, limits = self._send("GET", f"/institutions/{_institution_segment(institution_id)}/")
        return Institution.from_payload(body, limits)

    # -- agreements -----------------------------------------------------------------------------------------------
    def create_agreement(
        self,
        *,
        institution_id: str,
        max_historical_days: int,
        access_valid_for_days: int,
        access_scope: list[str] | None = None,
    ) -> Agreement:
        payload = {
            "institution_id": _valid_institution(institution_id),
            "max_historical_days": max_historical_days,
            "access_valid_for_days": access_valid_for_days,
            "access_scope": access_scope or ["balances", "details", "transactions"],
        }
        body, limits = self._send("POST", "/agreements/enduser/", json=payload)
        return Agreement.from_payload(body, limits)

    def get_agreement(self, agreement_id: str) -> Agreement:
        body, limits = self._send("GET", f"/agreements/enduser/{_uuid_segment('agreement', agreement_id)}/")
        return Agreement.from_payload(body, limits)

    def delete_agreement(self, agreement_id: str) -> None:
        self._send("DELETE", f"/agreements/enduser/{_uuid_segment('agreement', agreement_id)}/")

    # -- requisitions ---------------------------------------------------------------------------------------------
    def create_requisition(
        self,
        *,
        redirect: str,
        institution_id: str,
        reference: str | None = None,
        agreement_id: str | None = None,
        user_language: str | None = None,
    ) -> Requisition:
        """Create a requisition. Its reference (random when not given) is what finds it again when the answer
        is lost: a timed-out POST is resolved by looking the reference up, never by sending it again."""
        reference = reference or uuid.uuid4().hex
        payload: dict[str, Any] = {
            "redirect": redirect,
            "institution_id": _valid_institution(institution_id),
            "reference": reference,
        }
        if agreement_id is not None:
            payload["agreement"] = _valid_uuid("agreement", agreement_id)
        if user_language:
            payload["user_language"] = user_language
        try:
            body, limits = self._send("POST", "/requisitions/", json=payload)
        except errors.ConnectionFailedError:
            log.warning("requisition create lost its answer; looking it up by reference")
            found = self.find_requisition_by_reference(reference)
            if found is None:
                raise
            return found
        return Requisition.from_payload(body, limits)

    def get_requisition(self, requisition_id: str) -> Requisition:
        body, limits = self._send("GET", f"/requisitions/{_uuid_segment('requisition', requisition_id)}/")
        return Requisition.from_payload(body, limits)

    def list_requisitions(self, *, limit: int = 100, offset: int = 0) -> RequisitionPage:
        body, limits = self._send("GET", "/requisitions/", params={"limit": limit, "offset": offset})
        page = RequisitionPage.from_payload(body, limits)
        page.results = [Requisition.from_payload(item, limits) for item in body.get("results", [])]
        return page

    def iter_requisitions(self, *, page_size: int = 100) -> Iterator[Requisition]:
        offset = 0
        while True:
            page = self.list_requisitions(limit=page_size, offset=offset)
            yield from page.results
            if not page.next or not page.results:
                return
            offset += len(page.results)

    def find_requisition_by_reference(self, reference: str) -> Requisition | None:
        return next((r for r in self.iter_requisitions() if r.reference == reference), None)

    def delete_requisition(self, requisition_id: str) -> None:
        """Deletes the requisition and its end-user agreement(s) at GoCardless."""
        self._send("DELETE", f"/requisitions/{_uuid_segment('requisition', requisition_id)}/")

    # -- accounts -------------------------------------------------------------------------------------------------
    def get_account(self, account_id: str) -> AccountMetadata:
        body, limits = self._send("GET", f"/accounts/{_uuid_segment('account', account_id)}/")
        return AccountMetadata.from_payload(body, limits)

    def get_account_details(self, account_id: str) -> AccountDetails:
        body, limits = self._send("GET", f"/accounts/{_uuid_segment('account', account_id)}/details/")
        return AccountDetails.from_payload(body, limits)

    def get_account_balances(self, account_id: str) -> AccountBalances:
        body, limits = self._send("GET", f"/accounts/{_uuid_segment('account', account_id)}/balances/")
        return AccountBalances.from_payload(body, limits)

    def get_account_transactions(
        self, account_id: str, *, date_from: date | None = None, date_to: date | None = None
    ) -> AccountTransactions:
        params = {}
        if date_from is not None:
            params["date_from"] = date_from.isoformat()
        if date_to is not None:
            params["date_to"] = date_to.isoformat()
        body, limits = self._send(
            "GET", f"/accounts/{_uuid_segment('account', account_id)}/transactions/", params=params or None
        )
        return AccountTransactions.from_payload(body, limits)

    # -- transport ------------------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> tuple[Any, RateLimits]:
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            headers = {}
            access = ""
            if auth:
                access = self.tokens.access_token()
                headers["Authorization"] = f"Bearer {access}"
            started = time.monotonic()
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                elapsed = int((time.monotonic() - started) * 1000)
                log.warning(
                    "gocardless request failed",
                    extra={
                        "method": method,
                        "path": path,
                        "error": type(exc).__name__,
                        "ms": elapsed,
                        "attempt": attempt,
                    },
                )
                if should_retry(method=method, status_code=None, attempt=attempt, max_attempts=self._max_attempts):
                    self._sleep(self._backoff(attempt, None))
                    continue
                raise errors.ConnectionFailedError(
                    f"GoCardless did not answer {method} {path}: {type(exc).__name__}"
                ) from exc
            elapsed = int((time.monotonic() - started) * 1000)
            limits = RateLimits.from_headers(response.headers)
            log.info(
                "gocardless request",
                extra={
                    "method": method,
                    "path": path,
                    "status": response.status_code,
                    "ms": elapsed,
                    "attempt": attempt,
                },
            )
            if response.is_success:
                return _json(response), limits
            if response.status_code == 401 and auth and not refreshed and _is_token_error(response):
                refreshed = True
                self.tokens.invalidate(access)
                attempt -= 1  # a refresh is not a retry
                continue
            if should_retry(
                method=method, status_code=response.status_code, attempt=attempt, max_attempts=self._max_attempts
            ):
                self._sleep(self._backoff(attempt, response.headers.get("retry-after")))
                continue
            raise _error_for(response, path, limits)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        return backoff_seconds(attempt, retry_after=parse_retry_after(retry_after), jitter=self._jitter)


def _valid_institution(institution_id: str) -> str:
    try:
        return ids.institution_id(institution_id)
    except ids.InvalidIdError as exc:
        raise _invalid_id(exc) from exc


def _valid_uuid(kind: str, value: str) -> str:
    try:
        return ids.uuid_id(kind, value)
    except ids.InvalidIdError as exc:
        raise _invalid_id(exc) from exc


def _invalid_id(exc: ids.InvalidIdError) -> errors.InvalidRequestError:
    """A malformed id is refused as GoCardless refuses one (400 "Invalid ID"), so callers handle it as they handle
    that answer, but it is never sent: it reaches no URL, no body and no bank."""
    return errors.InvalidRequestError(str(exc), summary="Invalid ID", detail=str(exc))


def _institution_segment(institution_id: str) -> str:
    """A checked id as exactly one URL path segment (percent-encoded: it cannot add a segment or a query)."""
    return quote(_valid_institution(institution_id), safe="")


def _uuid_segment(kind: str, value: str) -> str:
    return quote(_valid_uuid(kind, value), safe="")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise errors.UpstreamServerError(
            f"GoCardless answered {response.status_code} with a body that is not JSON",
            status_code=response.status_code,
        ) from exc


def _is_token_error(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return True
    if not isinstance(body, dict) or body.get("type"):
        return False
    summary = str(body.get("summary", ""))
    return "token" in summary.lower() or "credentials" in summary.lower()


def _error_for(response: httpx.Response, path: str, limits: RateLimits) -> errors.GoCardlessError:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    summary = str(body.get("summary")) if isinstance(body, dict) and "summary" in body else None
    detail = str(body.get("detail")) if isinstance(body, dict) and "detail" in body else None
    error_type = str(body.get("type")) if isinstance(body, dict) and body.get("type") else None
    text = ": ".join(part for part in (summary, detail) if part) or f"HTTP {status}"
    common: dict[str, Any] = {
        "status_code": status,
        "summary": summary,
        "detail": detail,
        "error_type": error_type,
        "body": body,
        "rate_limits": limits,
    }
    if status == 429:
        match = _ACCOUNT_SCOPE.search(path)
        scope = match.group(1) if match else "general"
        seconds: int | None = None
        if detail and (found := _TRY_AGAIN.search(detail)):
            seconds = int(found.group(1))
        reset_at = limits.account_reset_at if scope != "general" else limits.reset_at
        if seconds is not None:
            reset_at = (limits.received_at or clock.now()) + timedelta(seconds=seconds)
        return errors.RateLimitExceededError(
            f"rate limited ({scope}): {text}",
            scope=scope,
            reset_at=reset_at,
            bank_limit=error_type == "RateLimitError",
            **common,
        )
    if status == 401:
        if path.startswith("/token/new"):
            return errors.AuthenticationFailedError(f"GoCardless refused the credentials: {text}", **common)
        if summary and "End User Agreement" in summary and "expired" in summary:
            return errors.AgreementExpiredError(text, **common)
        if error_type in {"AccessExpiredError", "AccountInactiveError"}:
            return errors.AccessExpiredError(text, **common)
        return errors.InvalidTokenError(text, **common)
    if status == 409:
        return errors.AccountSuspendedError(text, **common)
    if status == 403:
        return errors.ForbiddenError(text, **common)
    if status == 404:
        return errors.ResourceNotFoundError(text, **common)
    if status == 402:
        return errors.PaymentRequiredError(text, **common)
    if status >= 500:
        return errors.UpstreamServerError(text, **common)
    field_errors = (
        {key: value for key, value in body.items() if key not in {"summary", "detail", "status_code", "type"}}
        if isinstance(body, dict)
        else None
    )
    if field_errors and not summary:
        text = "; ".join(f"{key}: {_describe_field(value)}" for key, value in field_errors.items())
    return errors.InvalidRequestError(text, field_errors=field_errors, **common)


def _describe_field(value: Any) -> str:
    if isinstance(value, dict):
        parts = [str(value[key]) for key in ("summary", "detail") if value.get(key)]
        return ": ".join(parts) if parts else str(value)
    if isinstance(value, list):
        return " ".join(_describe_field(item) for item in value)
    return str(value)
