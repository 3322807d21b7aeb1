"""Moving-window request counters (the `limits` package), kept in this process's memory.

Why in-process and not PostgreSQL: a counter in PostgreSQL needs a table of its own (a migration) and a write per
counted request, and Redis or memcached are no part of finsync's stack. What follows when several API processes
serve (uvicorn `--workers N`, several containers behind a proxy): each process counts on its own, so a client
whose requests are spread over N processes gets up to N times each limit, and a restart forgets every count. The
limits are chosen with that in mind (one user's share of GoCardless's budget stays small even N times over), and
whatever must hold across processes and restarts is kept in PostgreSQL instead: an account's lock
(`users.locked_until`) and the pending connections a user may have (the `connections` table).
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from src.ratelimit.exceptions import TooManyRequestsError

log = logging.getLogger(__name__)

# What a rule counts by; the key is logged under this name (a user or account id, or a client address).
Subject = Literal["client_address", "user_id"]


@dataclass(frozen=True)
class Rule:
    """A named limit of one kind of request. `name` keys the counters and the logs; `refusal` opens the 429's
    sentence, which then says when to try again."""

    name: str
    per: Subject
    windows: tuple[RateLimitItem, ...]
    refusal: str


def rule(name: str, *, per: Subject, limit: str, refusal: str) -> Rule:
    """A rule from the `limits` notation: "10/15 minutes", or several windows at once: "5/minute;30/hour"."""
    return Rule(name=name, per=per, windows=tuple(parse_many(limit)), refusal=refusal)


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    if seconds < 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


class RateLimiter:
    """Counters per (rule, key) over moving windows: a request refused now is allowed again as soon as the oldest
    counted one leaves its window, never at an arbitrary window boundary (no double burst across one)."""

    def __init__(self) -> None:
        self._windows = MovingWindowRateLimiter(MemoryStorage())

    def allows(self, rule: Rule, key: str) -> bool:
        """Whether one more request would be within every window of `rule`; counts nothing."""
        return all(self._windows.test(window, rule.name, key) for window in rule.windows)

    def check(self, rule: Rule, key: str) -> None:
        """TooManyRequestsError when `rule` is used up for `key`; counts nothing."""
        if not self.allows(rule, key):
            raise self.refusal(rule, key)

    def hit(self, rule: Rule, key: str) -> None:
        """Count one request, or refuse it (TooManyRequestsError) without counting it when `rule` is used up."""
        self.check(rule, key)
        for window in rule.windows:
            if not self._windows.hit(window, rule.name, key):
                raise self.refusal(rule, key)  # a parallel request took the last slot since the check
        self._note_if_used_up(rule, key)

    def record(self, rule: Rule, key: str) -> bool:
        """Count an event that has happened (a failed sign-in); True while `rule` still allows another."""
        was_allowed = self.allows(rule, key)
        for window in rule.windows:
            self._windows.hit(window, rule.name, key)
        if was_allowed:
            self._note_if_used_up(rule, key)
        return self.allows(rule, key)

    def _note_if_used_up(self, rule: Rule, key: str) -> None:
        # Logged once, when the last allowed request is counted: the refusals that follow are in the access log,
        # and a flood of them must not become a flood of log lines.
        if not self.allows(rule, key):
            log.warning(
                "rate limit reached",
                extra={"rule": rule.name, rule.per: key, "retry_after": self.retry_after(rule, key)},
            )

    def reset(self, rule: Rule, key: str) -> None:
        for window in rule.windows:
            self._windows.clear(window, rule.name, key)

    def retry_after(self, rule: Rule, key: str) -> int:
        """Whole seconds until `rule` allows `key` another request (at least 1)."""
        now = time.time()
        waits = []
        for window in rule.windows:
            stats = self._windows.get_window_stats(window, rule.name, key)
            if stats.remaining <= 0:
                waits.append(stats.reset_time - now)
        return max(1, math.ceil(max(waits, default=1)))

    def refusal(self, rule: Rule, key: str) -> TooManyRequestsError:
        seconds = self.retry_after(rule, key)
        return TooManyRequestsError(
            f"{rule.refusal} Try again in {_in_words(seconds)}.",
            headers={"Retry-After": str(seconds)},
            extra={"retry_at": (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()},
        )
