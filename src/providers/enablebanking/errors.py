"""Typed Enable Banking errors: one base, "no response" apart from status errors, then one class per meaning.

Each error keeps the HTTP status and the body's own `error` code, `message` and `detail` (an `ErrorResponse`: safe
to show, they never hold our key or token), so a caller can tell EXPIRED_SESSION from REVOKED_SESSION without
parsing text. The meaning is read from the error code first (Enable Banking uses 401 for more than one thing) and
from the status only when the body names no code.
"""

from datetime import date, datetime
from typing import Any


class EnableBankingError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        detail: Any = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.error_message = error_message
        self.detail = detail
        self.body = body


class ConnectionFailedError(EnableBankingError):
    """No response: a timeout or a connection error (after the retries a GET is allowed)."""


class UpstreamServerError(EnableBankingError):
    """Enable Banking answered 5xx, or a body that is not JSON (after the retries a GET is allowed)."""


class MisconfiguredError(EnableBankingError):
    """finsync's side is wrong: the private key unreadable or refused, the application inactive, a redirect URL
    not registered. Nothing a retry or the person at the bank can fix; the operator must."""


class BankError(EnableBankingError):
    """The bank (ASPSP) failed or refused behind Enable Banking: ASPSP_ERROR, ASPSP_TIMEOUT, an account it will
    not give access to, an action it wants from the person."""


class RateLimitedError(EnableBankingError):
    """ASPSP_RATE_LIMIT_EXCEEDED (or a bare 429): the bank's quota is used up (four unattended reads per account
    per endpoint per day at many banks). Never retried by the client; `reset_at` when the answer said."""

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class SessionEndedError(EnableBankingError):
    """The session is over (EXPIRED_SESSION, CLOSED_SESSION, REVOKED_SESSION): the person must authorise again."""


class ResourceNotFoundError(EnableBankingError):
    """404, or a code naming a missing session, account or transaction."""


class InvalidRequestError(EnableBankingError):
    """Enable Banking refused the request's parameters (422 and other 4xx)."""


class AuthorizationCodeError(InvalidRequestError):
    """The `code` from the bank's redirect cannot open a session: expired, wrong, already used, or the person
    added no account."""


class WrongTransactionsPeriodError(InvalidRequestError):
    """WRONG_TRANSACTIONS_PERIOD: the bank refuses the asked dates. `allowed_from`/`allowed_to` are the period
    it suggests when the answer names one (the client retries once with it)."""

    def __init__(
        self, message: str, *, allowed_from: date | None = None, allowed_to: date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.allowed_from = allowed_from
        self.allowed_to = allowed_to
