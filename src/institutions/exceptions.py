"""The institutions domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, NotFoundError


class InstitutionNotFoundError(NotFoundError):
    code = "institution_not_found"


class InvalidCountryError(AppError):
    status_code = 400
    code = "invalid_country"
