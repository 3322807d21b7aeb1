"""The rate-limit headers of a GoCardless response, parsed defensively.

GoCardless sends underscore names with an `HTTP_` prefix (`HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING`), which
arrive lowercased over HTTP/2; resets are seconds from now, and have been seen negative. Every header is
optional. Dashed names (`X-RateLimit-Remaining`) are read too, in case a proxy rewrites them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from src import clock

_PREFIXES = ("http_x_ratelimit_", "x_ratelimit_", "x-ratelimit-")


def _header(headers: Mapping[str, str], name: str) -> int | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    for prefix in _PREFIXES:
        key = prefix + (name if "_" in prefix else name.replace("_", "-"))
        if key in lowered:
            try:
                return int(str(lowered[key]).strip())
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class RateLimits:
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: int | None = None
    account_limit: int | None = None
    account_remaining: int | None = None
    account_reset_seconds: int | None = None
    received_at: datetime | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: datetime | None = None) -> "RateLimits":
        return cls(
            limit=_header(headers, "limit"),
            remaining=_header(headers, "remaining"),
            reset_seconds=_header(headers, "reset"),
            account_limit=_header(headers, "account_success_limit"),
            account_remaining=_header(headers, "account_success_remaining"),
            account_reset_seconds=_header(headers, "account_success_reset"),
            received_at=now or clock.now(),
        )

    def _at(self, seconds: int | None) -> datetime | None:
        if seconds is None or self.received_at is None:
            return None
        return self.received_at + timedelta(seconds=max(0, seconds))

    @property
    def reset_at(self) -> datetime | None:
        """When the general window resets."""
        return self._at(self.reset_seconds)

    @property
    def account_reset_at(self) -> datetime | None:
        """When the account's per-scope daily allowance resets."""
        return self._at(self.account_reset_seconds)
