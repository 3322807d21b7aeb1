"""The retry decision, the backoff and the rate-limit header parsing: pure functions, tested alone."""

from datetime import UTC, datetime, timedelta

import pytest

from src.providers.gocardless.ratelimits import RateLimits
from src.providers.retry import backoff_seconds, should_retry


class TestShouldRetry:
    @pytest.mark.parametrize(
        ("method", "status", "attempt", "expected"),
        [
            ("GET", None, 1, True),  # timeout / connection error
            ("GET", 500, 1, True),
            ("GET", 503, 3, True),
            ("GET", 503, 4, False),  # attempts used up
            ("DELETE", 502, 1, True),
            ("GET", 429, 1, False),  # a daily quota can last hours
            ("GET", 409, 1, False),  # suspended stays suspended
            ("GET", 400, 1, False),
            ("GET", 404, 1, False),
            ("POST", None, 1, False),  # a retried POST could create a second requisition
            ("POST", 503, 1, False),
            ("PUT", 503, 1, False),
        ],
    )
    def test_table(self, method: str, status: int | None, attempt: int, expected: bool) -> None:
        assert should_retry(method=method, status_code=status, attempt=attempt, max_attempts=4) is expected


class TestBackoff:
    def test_grows_exponentially_and_is_capped(self) -> None:
        no_jitter = [backoff_seconds(attempt, base=0.5, cap=4, jitter=lambda: 0.0) for attempt in range(1, 7)]
        assert no_jitter == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
        full_jitter = [backoff_seconds(attempt, base=0.5, cap=4, jitter=lambda: 1.0) for attempt in range(1, 7)]
        assert full_jitter == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    def test_a_sane_retry_after_wins_and_an_absurd_one_is_ignored(self) -> None:
        assert backoff_seconds(1, retry_after=3, jitter=lambda: 0.0) == 3
        assert backoff_seconds(1, base=0.5, retry_after=86_400, jitter=lambda: 0.0) == 0.25


class TestRateLimits:
    NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def test_underscore_names_in_any_case(self) -> None:
        headers = {
            "http_x_ratelimit_limit": "100",
            "HTTP_X_RATELIMIT_REMAINING": "99",
            "Http_X_Ratelimit_Reset": "59",
            "http_x_ratelimit_account_success_limit": "4",
            "http_x_ratelimit_account_success_remaining": "0",
            "http_x_ratelimit_account_success_reset": "3600",
        }
        limits = RateLimits.from_headers(headers, now=self.NOW)
        assert (limits.limit, limits.remaining, limits.reset_seconds) == (100, 99, 59)
        assert (limits.account_limit, limits.account_remaining) == (4, 0)
        assert limits.account_reset_at == self.NOW + timedelta(hours=1)

    def test_missing_garbled_and_negative_values(self) -> None:
        limits = RateLimits.from_headers(
            {"http_x_ratelimit_remaining": "lots", "http_x_ratelimit_account_success_reset": "-1875538"}, now=self.NOW
        )
        assert limits.remaining is None
        assert limits.limit is None
        assert limits.account_reset_at == self.NOW  # a negative reset means "now", never the past

    def test_dashed_names_from_a_rewriting_proxy(self) -> None:
        limits = RateLimits.from_headers({"X-RateLimit-Remaining": "7"}, now=self.NOW)
        assert limits.remaining == 7
