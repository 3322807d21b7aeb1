"""The transactions domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, NotFoundError


class InvalidAmountRangeError(AppError):
    code = "invalid_amount_range"


class TransactionNotFoundError(NotFoundError):
    """Also another user's transaction: ids reveal nothing."""

    code = "transaction_not_found"
