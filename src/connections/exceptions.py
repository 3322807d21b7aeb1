"""The connections domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, ConflictError, NotFoundError


class ConnectionNotFoundError(NotFoundError):
    """Also another user's connection: ids reveal nothing."""

    code = "connection_not_found"


class ConnectionNotReauthorisableError(ConflictError):
    code = "connection_not_reauthorisable"


class ConnectionExistsError(ConflictError):
    code = "connection_exists"


class TooManyPendingConnectionsError(ConflictError):
    code = "too_many_pending_connections"


class RedirectNotReadableAppError(AppError):
    """The pasted text is not the address a bank sends a person back to."""

    status_code = 422
    code = "redirect_not_readable"
