"""Typed GoCardless errors: one base, "no response" apart from status errors, then one class per meaning.

Each error carries the HTTP status, GoCardless's own `summary` and `detail` (safe to show: they never hold our
secrets), the bank-side `type` when there is one, and the rate limits read from the response.
"""

from datetime import datetime
from typing import Any

from src.providers.gocardless.ratelimits import RateLimits


class GoCardlessError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        summary: str | None = None,
        detail: str | None = None,
        error_type: str | None = None,
        body: Any = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.summary = summary
        self.detail = detail
        self.error_type = error_type
        self.body = body
        self.rate_limits = rate_limits


class ConnectionFailedError(GoCardlessError):
    """No response: a timeout or a connection error (after the retries an idempotent call is allowed)."""


class UpstreamServerError(GoCardlessError):
    """GoCardless or the bank answered 5xx (after the retries an idempotent call is allowed)."""


class AuthenticationFailedError(GoCardlessError):
    """The secret id/key pair was refused by token/new."""


class InvalidTokenError(GoCardlessError):
    """An access or refresh token was refused (the client refreshes once before raising this)."""


class AccessExpiredError(GoCardlessError):
    """Access to the account's data has ended: the user must reconnect (EUA expired, access revoked, inactive)."""


class AgreementExpiredError(AccessExpiredError):
    """The end-user agreement's access period is over; its requisition is expired (EX)."""


class AccountSuspendedError(GoCardlessError):
    """409: the account or requisition is suspended. Never retried."""


class ForbiddenError(GoCardlessError):
    """403: scope not in the agreement, no valid agreement, IP not allowed, or the bank forbids it."""


class ResourceNotFoundError(GoCardlessError):
    """404: no such object."""


class PaymentRequiredError(GoCardlessError):
    """402: the free usage limit is exceeded."""


class InvalidRequestError(GoCardlessError):
    """400 (and other 4xx): GoCardless refused the request; `field_errors` holds the per-field form."""

    def __init__(self, message: str, *, field_errors: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or {}


class RateLimitExceededError(GoCardlessError):
    """429. `scope` is details, balances or transactions for a per-account limit, else `general`; `reset_at` is
    when calls may resume. Never retried by the client: a daily quota can last for hours."""

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        reset_at: datetime | None,
        bank_limit: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.scope = scope
        self.reset_at = reset_at
        self.bank_limit = bank_limit
