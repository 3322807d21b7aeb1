"""The Enable Banking API client: one pooled httpx client, typed results, typed errors.

Every call goes through `_send`: a signed JWT (cached, see auth.py), a timeout, one log line per request (method,
path, status, milliseconds: never the token or the key), PSU headers only when a person is present (psu.py), and
retries with the shared capped, jittered backoff (src/providers/retry.py) for GETs only: a POST /auth or /sessions
sent twice could open a second authorisation or spend a single-use code, and a DELETE reaches the bank.

Each answer that is not 2xx becomes one typed error (errors.py), read from the body's `error` code first.
"""

import logging
import re
import time
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from src import clock
from src.providers.enablebanking import errors
from src.providers.enablebanking.auth import JwtSigner, load_private_key
from src.providers.enablebanking.models import (
    DEFAULT_CONSENT_SECONDS,
    Account,
    AccountTransactions,
    Application,
    Aspsp,
    Authorization,
    AuthorizedSession,
    Balance,
    PsuType,
    Session,
    TransactionsPage,
)
from src.providers.enablebanking.paging import MAX_PAGES, read_all_pages
from src.providers.enablebanking.psu import PsuContext, psu_headers
from src.providers.retry import backoff_seconds, parse_retry_after, should_retry

log = logging.getLogger(__name__)

OFFICIAL_BASE_URL = "https://api.enablebanking.com"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
RETRIED_METHODS = frozenset({"GET"})
# Asking for exactly now + the bank's maximum is refused when clocks drift apart (seen at Trade Republic): ask a
# little less.
CONSENT_MARGIN = timedelta(minutes=5)

SESSION_ENDED_CODES = frozenset({"EXPIRED_SESSION", "CLOSED_SESSION", "REVOKED_SESSION"})
NOT_FOUND_CODES = frozenset(
    {"ACCOUNT_DOES_NOT_EXIST", "SESSION_DOES_NOT_EXIST", "TRANSACTION_DOES_NOT_EXIST", "PAYMENT_NOT_FOUND"}
)
BANK_CODES = frozenset({"ASPSP_ERROR", "ASPSP_TIMEOUT", "ASPSP_ACCOUNT_NOT_ACCESSIBLE", "ASPSP_PSU_ACTION_REQUIRED"})
MISCONFIGURED_CODES = frozenset(
    {
        "ACCESS_DENIED",
        "AUTHORIZATION_NOT_PROVIDED",
        "UNAUTHORIZED_ACCESS",
        "UNAUTHORIZED_IP",
        "INVALID_HOST",
        "REDIRECT_URI_NOT_ALLOWED",
        "WEBHOOK_URI_NOT_ALLOWED",
    }
)
AUTHORIZATION_CODE_CODES = frozenset(
    {"EXPIRED_AUTHORIZATION_CODE", "WRONG_AUTHORIZATION_CODE", "ALREADY_AUTHORIZED", "NO_ACCOUNTS_ADDED"}
)
RATE_LIMIT_CODE = "ASPSP_RATE_LIMIT_EXCEEDED"
WRONG_PERIOD_CODE = "WRONG_TRANSACTIONS_PERIOD"
_RESETS_IN = re.compile(r"(?:resets|try again) in (\d+) seconds", re.IGNORECASE)
_DATE = re.compile(r"date_?from\W+(\d{4}-\d{2}-\d{2})|date_?to\W+(\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def consent_valid_until(now: datetime, maximum_consent_validity: int | None, requested: datetime | None) -> datetime:
    """`valid_until` for POST /auth: what was asked, capped at the bank's maximum (less a margin); the maximum when
    nothing was asked (90 days when the bank reports none)."""
    seconds = maximum_consent_validity if maximum_consent_validity and maximum_consent_validity > 0 else None
    latest = now + timedelta(seconds=seconds or DEFAULT_CONSENT_SECONDS)
    if seconds is not None:
        latest -= min(CONSENT_MARGIN, timedelta(seconds=seconds) / 2)
    return latest if requested is None else min(requested, latest)


class EnableBankingClient:
    def __init__(
        self,
        *,
        base_url: str = OFFICIAL_BASE_URL,
        signer: JwtSigner,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 4,
        max_connections: int = 20,
        max_pages: int = MAX_PAGES,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._signer = signer
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Accept": "application/json", "User-Agent": "finsync"},
            transport=transport,
        )
        self._max_attempts = max_attempts
        self._max_pages = max_pages
        self._sleep = sleep
        self._jitter = jitter
        self._now = now

    @classmethod
    def from_key_file(
        cls, *, application_id: str, private_key_file: Path, base_url: str = OFFICIAL_BASE_URL, **kwargs: Any
    ) -> "EnableBankingClient":
        signer = JwtSigner(application_id=application_id, private_key=load_private_key(private_key_file))
        return cls(base_url=base_url, signer=signer, **kwargs)

    def __repr__(self) -> str:
        return f"EnableBankingClient(base_url={str(self._http.base_url)!r}, application_id={self.application_id!r})"

    @property
    def application_id(self) -> str:
        return self._signer.application_id

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "EnableBankingClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- application and banks ------------------------------------------------------------------------------------
    def get_application(self) -> Application:
        return Application.from_payload(self._send("GET", "/application"))

    def verify_application(self) -> Application:
        """The start-up check: the key is accepted (else MisconfiguredError from the 401) and the application is
        active (else MisconfiguredError saying so)."""
        application = self.get_application()
        if not application.active:
            raise errors.MisconfiguredError(
                f"the Enable Banking application {application.name!r} ({self.application_id}) is not active"
            )
        return application

    def list_aspsps(self, country: str | None = None, *, psu_type: PsuType | str | None = None) -> list[Aspsp]:
        params: dict[str, str] = {"service": "AIS"}
        if country:
            params["country"] = country.upper()
        if psu_type:
            params["psu_type"] = str(psu_type)
        body = self._send("GET", "/aspsps", params=params)
        return [Aspsp.from_payload(item) for item in body.get("aspsps", [])]

    # -- consent --------------------------------------------------------------------------------------------------
    def start_authorization(
        self,
        *,
        aspsp: Aspsp,
        redirect_url: str,
        state: str,
        valid_until: datetime | None = None,
        psu_type: PsuType | str = PsuType.personal,
        language: str | None = None,
    ) -> Authorization:
        """POST /auth: the bank's consent page for the person (`url`). `state` comes back on the redirect with the
        `code`; `valid_until` is capped at the bank's `maximum_consent_validity`."""
        until = consent_valid_until(self._now(), aspsp.maximum_consent_validity, valid_until)
        payload: dict[str, Any] = {
            "access": {"valid_until": until.astimezone(UTC).isoformat(), "balances": True, "transactions": True},
            "aspsp": {"name": aspsp.name, "country": aspsp.country},
            "state": state,
            "redirect_url": redirect_url,
            "psu_type": str(psu_type),
        }
        if language:
            payload["language"] = language
        return Authorization.from_payload(self._send("POST", "/auth", json=payload))

    def create_session(self, code: str) -> AuthorizedSession:
        """POST /sessions: the redirect's `code` for a session and its accounts (single-use: never sent twice)."""
        return AuthorizedSession.from_payload(self._send("POST", "/sessions", json={"code": code}))

    def get_session(self, session_id: str) -> Session:
        return Session.from_payload(self._send("GET", f"/sessions/{_segment(session_id)}"))

    def delete_session(self, session_id: str, *, psu: PsuContext | None = None) -> None:
        """Ends the session; Enable Banking closes the bank consent too where it can."""
        self._send("DELETE", f"/sessions/{_segment(session_id)}", headers=psu_headers(psu))

    # -- accounts -------------------------------------------------------------------------------------------------
    def account_details(
        self, uid: str, *, psu: PsuContext | None = None, required_psu_headers: Collection[str] = ()
    ) -> Account:
        body = self._send("GET", f"/accounts/{_segment(uid)}/details", headers=psu_headers(psu, required_psu_headers))
        return Account.from_payload(body)

    def account_balances(
        self, uid: str, *, psu: PsuContext | None = None, required_psu_headers: Collection[str] = ()
    ) -> list[Balance]:
        body = self._send("GET", f"/accounts/{_segment(uid)}/balances", headers=psu_headers(psu, required_psu_headers))
        return [Balance.from_payload(item) for item in body.get("balances", [])]

    def account_transactions(
        self,
        uid: str,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        psu: PsuContext | None = None,
        required_psu_headers: Collection[str] = (),
    ) -> AccountTransactions:
        """Every page of the account's transactions in the period. A bank refusing the period
        (WRONG_TRANSACTIONS_PERIOD) with one it allows is asked once more with that one; `date_from`/`date_to` of
        the result say what was read."""
        headers = psu_headers(psu, required_psu_headers)
        try:
            return self._read_transactions(uid, date_from, date_to, headers)
        except errors.WrongTransactionsPeriodError as exc:
            allowed_from = exc.allowed_from if exc.allowed_from is not None else date_from
            allowed_to = exc.allowed_to if exc.allowed_to is not None else date_to
            if (allowed_from, allowed_to) == (date_from, date_to):
                raise
            log.info("the bank refused the transaction period; asking again from %s to %s", allowed_from, allowed_to)
            return self._read_transactions(uid, allowed_from, allowed_to, headers)

    def _read_transactions(
        self, uid: str, date_from: date | None, date_to: date | None, headers: dict[str, str]
    ) -> AccountTransactions:
        query: dict[str, str] = {}
        if date_from is not None:
            query["date_from"] = date_from.isoformat()
        if date_to is not None:
            query["date_to"] = date_to.isoformat()
        path = f"/accounts/{_segment(uid)}/transactions"

        def fetch(key: str | None) -> TransactionsPage:
            params = dict(query, continuation_key=key) if key is not None else query
            return TransactionsPage.from_payload(self._send("GET", path, params=params or None, headers=headers))

        read = read_all_pages(fetch, max_pages=self._max_pages)
        return AccountTransactions(
            transactions=read.transactions,
            date_from=date_from,
            date_to=date_to,
            pages=read.pages,
            complete=read.complete,
        )

    # -- transport ------------------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        attempt = 0
        while True:
            attempt += 1
            request_headers = {**(headers or {}), "Authorization": f"Bearer {self._signer.token()}"}
            started = time.monotonic()
            try:
                response = self._http.request(method, path, params=params, json=json, headers=request_headers)
            except httpx.TransportError as exc:
                log.warning(
                    "enablebanking request failed",
                    extra={
                        "method": method,
                        "path": path,
                        "error": type(exc).__name__,
                        "ms": int((time.monotonic() - started) * 1000),
                        "attempt": attempt,
                    },
                )
                if self._retries(method, None, attempt):
                    self._sleep(self._backoff(attempt, None))
                    continue
                raise errors.ConnectionFailedError(
                    f"Enable Banking did not answer {method} {path}: {type(exc).__name__}"
                ) from exc
            log.info(
                "enablebanking request",
                extra={
                    "method": method,
                    "path": path,
                    "status": response.status_code,
                    "ms": int((time.monotonic() - started) * 1000),
                    "attempt": attempt,
                    "psu": bool(headers),
                },
            )
            if response.is_success:
                return _json(response)
            if self._retries(method, response.status_code, attempt):
                self._sleep(self._backoff(attempt, response.headers.get("retry-after")))
                continue
            raise error_for(response.status_code, _body(response), response.headers, now=self._now())

    def _retries(self, method: str, status_code: int | None, attempt: int) -> bool:
        return should_retry(
            method=method,
            status_code=status_code,
            attempt=attempt,
            max_attempts=self._max_attempts,
            retried_methods=RETRIED_METHODS,
        )

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        return backoff_seconds(attempt, retry_after=parse_retry_after(retry_after), jitter=self._jitter)


def _segment(value: str) -> str:
    """An id as exactly one URL path segment (percent-encoded: it cannot add a segment or a query)."""
    if not value or not value.strip():
        raise errors.InvalidRequestError("an empty id cannot name a session or an account")
    return quote(value, safe="")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise errors.UpstreamServerError(
            f"Enable Banking answered {response.status_code} with a body that is not JSON",
            status_code=response.status_code,
        ) from exc


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def error_for(
    status: int, body: Any, headers: httpx.Headers | dict[str, str] | None = None, *, now: datetime | None = None
) -> errors.EnableBankingError:
    """The typed error for one refused answer: by the body's `error` code first, then by the HTTP status."""
    fields = body if isinstance(body, dict) else {}
    code = str(fields["error"]) if fields.get("error") else None
    message = str(fields["message"]) if fields.get("message") else None
    detail = fields.get("detail")
    described = ": ".join(part for part in (code, message, _describe(detail)) if part) or f"HTTP {status}"
    text = f"Enable Banking refused the request ({status} {described})"
    common: dict[str, Any] = {
        "status_code": status,
        "error_code": code,
        "error_message": message,
        "detail": detail,
        "body": body,
    }
    if code == RATE_LIMIT_CODE or (code is None and status == 429):
        reset_at = _reset_at(httpx.Headers(headers or {}), described, now or clock.now())
        return errors.RateLimitedError(text, reset_at=reset_at, **common)
    if code in SESSION_ENDED_CODES:
        return errors.SessionEndedError(text, **common)
    if code in NOT_FOUND_CODES:
        return errors.ResourceNotFoundError(text, **common)
    if code in BANK_CODES:
        return errors.BankError(text, **common)
    if code in MISCONFIGURED_CODES:
        return errors.MisconfiguredError(text, **common)
    if code in AUTHORIZATION_CODE_CODES:
        return errors.AuthorizationCodeError(text, **common)
    if code == WRONG_PERIOD_CODE:
        allowed_from, allowed_to = _allowed_period(detail)
        return errors.WrongTransactionsPeriodError(text, allowed_from=allowed_from, allowed_to=allowed_to, **common)
    if code is None and status in (401, 403):
        # A JWT refused (bad key, another kid) or "Application is not active": both carry no error code.
        return errors.MisconfiguredError(text, **common)
    if status == 404:
        return errors.ResourceNotFoundError(text, **common)
    if status >= 500:
        return errors.UpstreamServerError(text, **common)
    return errors.InvalidRequestError(text, **common)


def _describe(detail: Any) -> str | None:
    if detail is None or detail == "":
        return None
    return detail if isinstance(detail, str) else str(detail)


def _allowed_period(detail: Any) -> tuple[date | None, date | None]:
    """The period a bank suggests with WRONG_TRANSACTIONS_PERIOD: `{"date_from": …, "date_to": …}`, or text such as
    "dateFrom=2026-01-01,dateTo=2026-03-31"."""
    if isinstance(detail, dict):
        return _date(detail.get("date_from")), _date(detail.get("date_to"))
    if isinstance(detail, str):
        found_from = found_to = None
        for match in _DATE.finditer(detail):
            found_from = found_from or _date(match.group(1))
            found_to = found_to or _date(match.group(2))
        return found_from, found_to
    return None, None


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _reset_at(headers: httpx.Headers, described: str, now: datetime) -> datetime | None:
    """When the bank's quota resets, if the answer says: Retry-After in seconds or as an HTTP date, else words such
    as "resets in 3600 seconds" in its message or detail."""
    value = headers.get("retry-after")
    seconds = parse_retry_after(value)
    if seconds is None and value is not None:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    if seconds is None and (found := _RESETS_IN.search(described)):
        seconds = float(found.group(1))
    return now + timedelta(seconds=max(seconds, 0)) if seconds is not None else None
