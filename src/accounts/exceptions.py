"""The accounts domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, NotFoundError


class AccountNotFoundError(NotFoundError):
    """Also another user's account: ids reveal nothing."""

    code = "account_not_found"


class InvalidDateRangeError(AppError):
    code = "invalid_date_range"
