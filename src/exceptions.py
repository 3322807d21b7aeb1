"""The errors every domain's errors are built on: each knows its HTTP answer (status, `code`, headers).

Services raise a domain's subclass (`<domain>/exceptions.py`); the API's one handler (`src/kit/error_envelope.py`)
renders it in the envelope of docs/ARCHITECTURE.md (`{"code", "detail", "errors"?}`). `code` is a stable snake_case
identifier a frontend can switch on. Pure Python on the bottom floor, so that `src/integrations/` can translate a
provider's failure into one without importing the HTTP kit.
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
