"""Domain errors that know their HTTP answer.

Services raise these; the API's one error handler renders them in the envelope of ARCHITECTURE.md
(`{"code", "detail", "errors"?}`). `code` is a stable snake_case identifier a frontend can switch on.
"""

from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = code or self.code
        self.headers = headers or {}
        self.errors = errors
        self.extra = extra or {}


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class UnauthorizedError(AppError):
    status_code = 401
    code = "not_authenticated"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
