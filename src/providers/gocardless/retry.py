"""The retry policy, as small pure functions (tested alone).

Retried: timeouts, connection errors and 5xx, for idempotent calls only (GET, DELETE): a retried POST could
create a second requisition, and each counts against the bank-connection allowance. Never retried: 429 (a daily
quota can last for hours), 409 (a suspended account stays suspended) and every other 4xx. A 401 is not a retry
but one refresh of the token, handled by the client.
"""

import random
from collections.abc import Callable

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
MAX_RETRY_AFTER_SECONDS = 60.0


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def should_retry(*, method: str, status_code: int | None, attempt: int, max_attempts: int) -> bool:
    """`status_code` None means no response (timeout or connection error). `attempt` counts from 1."""
    if attempt >= max_attempts or not is_idempotent(method):
        return False
    if status_code is None:
        return True
    return status_code >= 500


def backoff_seconds(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 8.0,
    retry_after: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Capped exponential backoff with jitter (half fixed, half random), or the server's Retry-After when it
    is sane; `jitter` is injectable so tests can pin it."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER_SECONDS:
        return retry_after
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return float(ceiling / 2 + jitter() * ceiling / 2)
