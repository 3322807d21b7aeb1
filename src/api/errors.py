"""The one error handler: every error leaves the API in the same envelope, validation errors included.

`{"code": "snake_case", "detail": "a sentence a frontend can show", "errors": [...]?}`. An unexpected exception
is logged with its traceback and answered with a generic 500 envelope that reveals nothing of its text.
"""

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from src.errors import AppError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ErrorResponse(BaseModel):
    """The error envelope, for OpenAPI `responses=`."""

    code: str
    detail: str
    errors: list[dict[str, Any]] | None = None
    retry_at: datetime | None = Field(
        default=None, description="With 429 `rate_limited`: when the bank allows the next call (UTC)."
    )


_DESCRIPTIONS = {
    400: "The request is not valid (`code` says why).",
    401: "Not authenticated, or the token is not valid.",
    403: "Not allowed.",
    404: "Not found (or not yours).",
    409: "Conflicts with the current state.",
    422: "Validation failed; `errors` lists each problem.",
    429: "Too many requests; see `Retry-After`.",
    502: "GoCardless answered with an error.",
    503: "A service this call needs is unavailable; see `Retry-After` when present.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint: each status documented with the error envelope."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in (*statuses, 422)}


def error_response(
    status_code: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


def _describe_validation(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else None
    if first is None:
        return "The request is not valid."
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "is not valid"))
    return f"{where}: {message}" if where else message


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(
        exc.status_code, exc.error_code, exc.detail, errors=exc.errors, headers=exc.headers, extra=exc.extra
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
    return error_response(422, "validation_error", _describe_validation(errors), errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request could not be handled."
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address."
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = "This address does not accept that method."
    return error_response(exc.status_code, code, detail, headers=dict(exc.headers or {}))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    return error_response(500, "internal_error", "Something went wrong on our side; please try again.")


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
