"""The retry policy every provider client shares, as small pure functions (tested alone).

Retried: timeouts, connection errors and 5xx, for the methods a client declares safe to repeat. GoCardless repeats
its idempotent calls (GET, DELETE); Enable Banking only its GETs (a repeated DELETE of a session could meet a
closed one, and each call may reach the bank). Never retried anywhere: 429 (a daily quota can last for hours) and
every other 4xx. The wait between attempts is capped exponential backoff with jitter, or the server's Retry-After
when it is sane: one rule, so both providers back off alike.
"""

import random
from collections.abc import Callable

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
MAX_RETRY_AFTER_SECONDS = 60.0


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def should_retry(
    *,
    method: str,
    status_code: int | None,
    attempt: int,
    max_attempts: int,
    retried_methods: frozenset[str] = IDEMPOTENT_METHODS,
) -> bool:
    """`status_code` None means no response (timeout or connection error). `attempt` counts from 1;
    `retried_methods` are the (upper-case) methods the caller may send twice."""
    if attempt >= max_attempts or method.upper() not in retried_methods:
        return False
    if status_code is None:
        return True
    return status_code >= 500


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After header given in seconds; the HTTP-date form and garbage count as absent."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def backoff_seconds(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 8.0,
    retry_after: float | None = None,
    jitter: Callable[[], float] | None = None,
) -> float:
    """Capped exponential backoff with jitter (half fixed, half random), or the server's Retry-After when it
    is sane; `jitter` is injectable so tests can pin it (None: random)."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER_SECONDS:
        return retry_after
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    draw = jitter() if jitter is not None else random.random()  # noqa: S311 - spreading retries, not a secret
    return float(ceiling / 2 + draw * ceiling / 2)
