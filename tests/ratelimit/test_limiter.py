"""The rate limiter and the client key, on their own: a real `RateLimiter` (in-process counters) per test."""

import contextlib
import logging

import pytest

from src.ratelimit import RateLimiter, TooManyRequestsError, client_key, rule

THREE_A_MINUTE = rule("test requests", per="client_address", limit="3/minute", refusal="Too many test requests.")
TWO_WINDOWS = rule("test bursts", per="user_id", limit="2/second;3/hour", refusal="Too many bursts.")


class TestClientKey:
    @pytest.mark.parametrize(
        ("host", "key"),
        [
            ("192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("testclient", "testclient"),
            (None, "unknown"),
        ],
    )
    def test_keys(self, host: str | None, key: str) -> None:
        assert client_key(host) == key

    def test_one_ipv6_subscriber_is_one_key(self) -> None:
        assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1")
        assert client_key("2001:db8::1") != client_key("2001:db8:0:1::1")


class TestRateLimiter:
    def test_hit_counts_then_refuses_without_counting(self) -> None:
        limiter = RateLimiter()
        for _ in range(3):
            limiter.hit(THREE_A_MINUTE, "a")

        with pytest.raises(TooManyRequestsError) as refused:
            limiter.hit(THREE_A_MINUTE, "a")

        error = refused.value
        assert (error.status_code, error.error_code) == (429, "rate_limited")
        assert 55 <= int(error.headers["Retry-After"]) <= 60
        assert error.detail.startswith("Too many test requests. Try again in ")
        assert "retry_at" in error.extra
        limiter.hit(THREE_A_MINUTE, "b")  # another key counts apart

    def test_record_counts_and_says_when_used_up(self) -> None:
        limiter = RateLimiter()

        assert [limiter.record(THREE_A_MINUTE, "a") for _ in range(4)] == [True, True, False, False]
        assert not limiter.allows(THREE_A_MINUTE, "a")
        limiter.reset(THREE_A_MINUTE, "a")
        assert limiter.allows(THREE_A_MINUTE, "a")

    def test_the_longest_exhausted_window_sets_the_wait(self) -> None:
        limiter = RateLimiter()
        limiter.hit(TWO_WINDOWS, "u")
        limiter.hit(TWO_WINDOWS, "u")
        assert limiter.retry_after(TWO_WINDOWS, "u") == 1  # the second's window

        limiter.reset(TWO_WINDOWS, "u")
        for _ in range(3):
            limiter.record(TWO_WINDOWS, "u")
        assert limiter.retry_after(TWO_WINDOWS, "u") > 3500  # the hour's window

    def test_a_flood_of_refusals_is_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="src.ratelimit")
        limiter = RateLimiter()
        for _ in range(50):
            with contextlib.suppress(TooManyRequestsError):
                limiter.hit(THREE_A_MINUTE, "192.0.2.7")

        reached = [record for record in caplog.records if record.getMessage() == "rate limit reached"]
        assert len(reached) == 1
        assert reached[0].__dict__["client_address"] == "192.0.2.7"
        assert reached[0].__dict__["rule"] == "test requests"
