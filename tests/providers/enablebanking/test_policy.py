"""The client's pure rules, tested alone: which calls are retried, the paging guard, the consent cap, PSU headers."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from src.providers.enablebanking.client import RETRIED_METHODS, consent_valid_until
from src.providers.enablebanking.models import Transaction, TransactionsPage
from src.providers.enablebanking.paging import read_all_pages
from src.providers.enablebanking.psu import PsuContext, psu_headers
from src.providers.retry import should_retry


class TestShouldRetry:
    @pytest.mark.parametrize(
        ("method", "status", "attempt", "expected"),
        [
            ("GET", None, 1, True),  # timeout / connection error
            ("GET", 500, 1, True),
            ("GET", 503, 3, True),
            ("GET", 503, 4, False),  # attempts used up
            ("GET", 429, 1, False),  # ASPSP_RATE_LIMIT_EXCEEDED: the bank's day is over
            ("GET", 401, 1, False),
            ("GET", 422, 1, False),
            ("POST", None, 1, False),  # a second POST /auth or /sessions is a second authorisation or a spent code
            ("POST", 503, 1, False),
            ("DELETE", None, 1, False),  # reaches the bank; never sent twice
            ("DELETE", 502, 1, False),
        ],
    )
    def test_table(self, method: str, status: int | None, attempt: int, expected: bool) -> None:
        decision = should_retry(
            method=method, status_code=status, attempt=attempt, max_attempts=4, retried_methods=RETRIED_METHODS
        )
        assert decision is expected


def _item(n: int) -> Transaction:
    return Transaction.model_validate(
        {
            "entry_reference": f"e{n}",
            "transaction_amount": {"currency": "EUR", "amount": f"{n}.00"},
            "credit_debit_indicator": "DBIT",
            "status": "BOOK",
        }
    )


def _pages(*pages: tuple[list[int], str | None]) -> tuple[Callable[[str | None], TransactionsPage], list[str | None]]:
    """A listing as a bank would page it: the key asked for each call, then what it answers."""
    asked: list[str | None] = []
    answers = iter(pages)

    def fetch(key: str | None) -> TransactionsPage:
        asked.append(key)
        items, following = next(answers)
        return TransactionsPage(transactions=[_item(n) for n in items], continuation_key=following)

    return fetch, asked


class TestPaging:
    def test_follows_the_key_until_null(self) -> None:
        fetch, asked = _pages(([1, 2], "k1"), ([3], "k2"), ([4], None))
        read = read_all_pages(fetch)
        assert [t.entry_reference for t in read.transactions] == ["e1", "e2", "e3", "e4"]
        assert asked == [None, "k1", "k2"]
        assert (read.pages, read.complete) == (3, True)

    def test_empty_pages_with_a_key_are_followed(self) -> None:
        fetch, asked = _pages(([], "k1"), ([], "k2"), ([7], ""))
        read = read_all_pages(fetch)
        assert [t.transaction_amount.amount for t in read.transactions] == [Decimal("7.00")]
        assert asked == [None, "k1", "k2"]
        assert read.complete

    def test_a_repeated_key_stops_the_paging_and_keeps_what_was_read(self) -> None:
        fetch, asked = _pages(([1], "k1"), ([2], "k2"), ([3], "k1"), ([4], None))
        read = read_all_pages(fetch)
        assert [t.entry_reference for t in read.transactions] == ["e1", "e2", "e3"]
        assert asked == [None, "k1", "k2"]
        assert (read.pages, read.complete) == (3, False)

    def test_a_key_repeated_at_once_stops_too(self) -> None:
        fetch, asked = _pages(([1], "same"), ([2], "same"))
        read = read_all_pages(fetch)
        assert asked == [None, "same"]
        assert not read.complete

    def test_the_page_bound(self) -> None:
        fetch, asked = _pages(*[([n], f"k{n}") for n in range(10)])
        read = read_all_pages(fetch, max_pages=5)
        assert (read.pages, read.complete, len(asked)) == (5, False, 5)


class TestConsentValidity:
    NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def test_nothing_asked_is_the_banks_maximum_less_a_margin(self) -> None:
        until = consent_valid_until(self.NOW, 7_776_000, None)
        assert self.NOW + timedelta(days=90) - timedelta(minutes=10) < until < self.NOW + timedelta(days=90)

    def test_more_than_the_maximum_is_capped(self) -> None:
        until = consent_valid_until(self.NOW, 3600 * 24, self.NOW + timedelta(days=180))
        assert until < self.NOW + timedelta(days=1)

    def test_less_is_kept(self) -> None:
        asked = self.NOW + timedelta(days=30)
        assert consent_valid_until(self.NOW, 15_552_000, asked) == asked

    def test_no_maximum_reported_is_ninety_days(self) -> None:
        assert consent_valid_until(self.NOW, None, None) == self.NOW + timedelta(days=90)

    def test_a_tiny_maximum_keeps_a_future_time(self) -> None:
        assert consent_valid_until(self.NOW, 60, None) > self.NOW


class TestPsuHeaders:
    PERSON = PsuContext(ip_address="203.0.113.7", user_agent="Mozilla/5.0", accept_language="fi")

    def test_no_person_no_headers(self) -> None:
        assert psu_headers(None) == {}
        assert psu_headers(None, ["Psu-Ip-Address"]) == {}

    def test_a_person_sends_what_their_request_gives(self) -> None:
        assert psu_headers(self.PERSON) == {
            "Psu-Ip-Address": "203.0.113.7",
            "Psu-User-Agent": "Mozilla/5.0",
            "Psu-Accept-Language": "fi",
        }

    def test_required_headers_all_present_in_any_case(self) -> None:
        assert psu_headers(self.PERSON, ["psu-ip-address", "Psu-User-Agent"]) == self.PERSON.headers()

    def test_a_required_header_the_request_lacks_means_none(self) -> None:
        assert psu_headers(self.PERSON, ["Psu-Ip-Address", "Psu-Geo-Location"]) == {}
