"""The transactions domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError


class InvalidAmountRangeError(AppError):
    code = "invalid_amount_range"
