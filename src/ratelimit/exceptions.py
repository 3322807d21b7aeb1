"""The rate limiter's refusal, in the API's envelope."""

from src.exceptions import AppError


class TooManyRequestsError(AppError):
    """429 `rate_limited`, with `Retry-After` (seconds) and `retry_at` (UTC) saying when to try again."""

    status_code = 429
    code = "rate_limited"
