"""Error mapping from the documented error bodies (the OpenAPI ErrorResponse and the pairs observed at banks)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from src.providers.enablebanking import errors
from src.providers.enablebanking.client import error_for

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "EXPIRED_SESSION"}, errors.SessionEndedError),
        (401, {"code": 401, "message": "Session is closed", "error": "CLOSED_SESSION"}, errors.SessionEndedError),
        (401, {"code": 401, "message": "Session revoked", "error": "REVOKED_SESSION"}, errors.SessionEndedError),
        (429, {"code": 429, "message": "Rate limit", "error": "ASPSP_RATE_LIMIT_EXCEEDED"}, errors.RateLimitedError),
        (429, {"message": "Too many requests"}, errors.RateLimitedError),
        (400, {"code": 400, "message": "Bank failed", "error": "ASPSP_ERROR"}, errors.BankError),
        (408, {"code": 408, "message": "Bank timed out", "error": "ASPSP_TIMEOUT"}, errors.BankError),
        (403, {"code": 403, "message": "Application is not active"}, errors.MisconfiguredError),
        (401, {"code": 401, "message": "Invalid JWT"}, errors.MisconfiguredError),
        (401, {"code": 401, "message": "x", "error": "UNAUTHORIZED_ACCESS"}, errors.MisconfiguredError),
        (403, {"code": 403, "message": "x", "error": "ACCESS_DENIED"}, errors.MisconfiguredError),
        (422, {"code": 422, "message": "x", "error": "REDIRECT_URI_NOT_ALLOWED"}, errors.MisconfiguredError),
        (404, {"code": 404, "message": "x", "error": "SESSION_DOES_NOT_EXIST"}, errors.ResourceNotFoundError),
        (404, {"code": 404, "message": "Not found"}, errors.ResourceNotFoundError),
        (400, {"code": 400, "message": "x", "error": "ACCOUNT_DOES_NOT_EXIST"}, errors.ResourceNotFoundError),
        (400, {"code": 400, "message": "x", "error": "EXPIRED_AUTHORIZATION_CODE"}, errors.AuthorizationCodeError),
        (422, {"code": 422, "message": "x", "error": "ALREADY_AUTHORIZED"}, errors.AuthorizationCodeError),
        (422, {"code": 422, "message": "x", "error": "WRONG_TRANSACTIONS_PERIOD"}, errors.WrongTransactionsPeriodError),
        (
            422,
            {
                "code": 422,
                "message": "Required PSU header is not provided",
                "error": "PSU_HEADER_NOT_PROVIDED",
                "detail": "PSU header psuIpAddress is not provided",
            },
            errors.InvalidRequestError,
        ),
        (500, {"code": 500, "message": "Internal error"}, errors.UpstreamServerError),
        (502, "<html>bad gateway</html>", errors.UpstreamServerError),
    ],
)
def test_each_documented_body_has_its_type(status: int, body: Any, expected: type[errors.EnableBankingError]) -> None:
    error = error_for(status, body, now=NOW)
    assert type(error) is expected
    assert error.status_code == status
    assert error.body == body
    assert "\n" not in str(error)


def test_the_code_message_and_detail_are_kept() -> None:
    body = {
        "code": 422,
        "message": "Required PSU header is not provided",
        "error": "PSU_HEADER_NOT_PROVIDED",
        "detail": "PSU header psuIpAddress is not provided",
    }
    error = error_for(422, body, now=NOW)
    assert error.error_code == "PSU_HEADER_NOT_PROVIDED"
    assert error.error_message == "Required PSU header is not provided"
    assert error.detail == "PSU header psuIpAddress is not provided"
    assert "PSU_HEADER_NOT_PROVIDED" in str(error)
    assert "psuIpAddress" in str(error)


def test_the_session_code_is_kept_for_the_caller() -> None:
    error = error_for(401, {"error": "REVOKED_SESSION", "message": "Session revoked"}, now=NOW)
    assert isinstance(error, errors.SessionEndedError)
    assert error.error_code == "REVOKED_SESSION"


class TestRateLimitReset:
    BODY = {"code": 429, "message": "Rate limit", "error": "ASPSP_RATE_LIMIT_EXCEEDED"}

    def test_unknown_without_retry_after(self) -> None:
        error = error_for(429, self.BODY, {}, now=NOW)
        assert isinstance(error, errors.RateLimitedError)
        assert error.reset_at is None

    def test_from_retry_after_seconds(self) -> None:
        error = error_for(429, self.BODY, {"Retry-After": "3600"}, now=NOW)
        assert isinstance(error, errors.RateLimitedError)
        assert error.reset_at == NOW + timedelta(hours=1)

    def test_from_the_words_of_the_detail(self) -> None:
        body = {**self.BODY, "detail": "The ASPSP allows 4 calls a day; it resets in 600 seconds"}
        error = error_for(429, body, {}, now=NOW)
        assert isinstance(error, errors.RateLimitedError)
        assert error.reset_at == NOW + timedelta(minutes=10)

    def test_from_retry_after_date(self) -> None:
        error = error_for(429, self.BODY, {"Retry-After": "Tue, 02 Jun 2026 00:00:00 GMT"}, now=NOW)
        assert isinstance(error, errors.RateLimitedError)
        assert error.reset_at == datetime(2026, 6, 2, tzinfo=UTC)


class TestWrongPeriod:
    def test_the_suggested_date_from(self) -> None:
        body = {
            "code": 422,
            "message": "Wrong period",
            "error": "WRONG_TRANSACTIONS_PERIOD",
            "detail": {"date_from": "2026-03-03"},
        }
        error = error_for(422, body, now=NOW)
        assert isinstance(error, errors.WrongTransactionsPeriodError)
        assert (error.allowed_from, error.allowed_to) == (date(2026, 3, 3), None)

    def test_a_period_in_text(self) -> None:
        body = {"error": "WRONG_TRANSACTIONS_PERIOD", "message": "x", "detail": "dateFrom=2026-03-03,dateTo=2026-05-31"}
        error = error_for(422, body, now=NOW)
        assert isinstance(error, errors.WrongTransactionsPeriodError)
        assert (error.allowed_from, error.allowed_to) == (date(2026, 3, 3), date(2026, 5, 31))

    def test_no_suggestion(self) -> None:
        error = error_for(422, {"error": "WRONG_TRANSACTIONS_PERIOD", "message": "x"}, now=NOW)
        assert isinstance(error, errors.WrongTransactionsPeriodError)
        assert (error.allowed_from, error.allowed_to) == (None, None)
