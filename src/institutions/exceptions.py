"""The institutions domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, NotFoundError


class InstitutionNotFoundError(NotFoundError):
    code = "institution_not_found"


class LogoNotFoundError(NotFoundError):
    """A bank without a logo, or whose logo could not be fetched (the page shows its initials instead)."""


class InvalidCountryError(AppError):
    status_code = 400
    code = "invalid_country"
