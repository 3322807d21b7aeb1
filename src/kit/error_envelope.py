"""The one error handler: every error leaves the API in the same envelope, validation errors included.

`{"code": "snake_case", "detail": "a sentence a frontend can show", "errors": [...]?}`. An unexpected exception
is logged with its traceback and answered with a generic 500 envelope that reveals nothing of its text.

`ErrorCode` lists every `code` the API can send, so that generated clients get an enumeration to switch on; a test
holds it equal to the codes in the code base (the `code` of each `AppError` subclass, each `code=` given when one
is raised, and the codes this module and the body limit answer with).
"""

import logging
from datetime import datetime
from typing import Any, Literal, get_args

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from src.exceptions import AppError
from src.kit.routing import allowed_methods, malformed_ids

log = logging.getLogger(__name__)

ErrorCode = Literal[
    "account_not_found",
    "bad_request",
    "conflict",
    "connection_exists",
    "connection_not_active",
    "connection_not_found",
    "connection_not_reauthorisable",
    "database_unavailable",
    "email_taken",
    "enablebanking_error",
    "enablebanking_unavailable",
    "forbidden",
    "gocardless_error",
    "gocardless_unavailable",
    "http_error",
    "institution_not_found",
    "internal_error",
    "invalid_amount_range",
    "invalid_country",
    "invalid_credentials",
    "invalid_cursor",
    "invalid_date_range",
    "invalid_refresh_token",
    "job_finished",
    "job_not_found",
    "method_not_allowed",
    "not_acceptable",
    "not_authenticated",
    "not_found",
    "payload_too_large",
    "rate_limited",
    "redirect_not_readable",
    "service_unavailable",
    "sync_engine_unavailable",
    "too_many_pending_connections",
    "too_many_webhooks",
    "transaction_not_found",
    "unsupported_media_type",
    "validation_error",
    "webhook_not_found",
    "webhook_url_refused",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))

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
# An HTTPException of a status not listed above (none is raised today).
_OTHER_HTTP_CODE = "http_error"


class ValidationProblem(BaseModel):
    """One problem of a 422 `validation_error`."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path`, `header` or `cookie`, then the field (and list index).",
        examples=[["query", "limit"]],
    )
    msg: str = Field(examples=["Input should be less than or equal to 500"])
    type: str = Field(
        description="What kind of problem, e.g. `missing`, `string_too_long`.", examples=["less_than_equal"]
    )


class ErrorResponse(BaseModel):
    """The error envelope, for OpenAPI `responses=`."""

    code: ErrorCode = Field(description="Stable identifier of the error, to switch on.")
    detail: str = Field(description="A sentence a frontend can show.")
    # SkipJsonSchema[None]: absent when empty, never null.
    errors: list[ValidationProblem] | SkipJsonSchema[None] = Field(
        default=None, description="With 422 `validation_error`: each problem."
    )
    retry_at: datetime | SkipJsonSchema[None] = Field(
        default=None, description="With 429 `rate_limited`: when to try again (UTC)."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"code": "connection_not_found", "detail": "There is no such connection."},
                {
                    "code": "validation_error",
                    "detail": "limit: Input should be less than or equal to 500",
                    "errors": [
                        {
                            "loc": ["query", "limit"],
                            "msg": "Input should be less than or equal to 500",
                            "type": "less_than_equal",
                        }
                    ],
                },
            ]
        }
    }


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
    return _validation_failed(errors)


def _validation_failed(errors: list[dict[str, Any]]) -> JSONResponse:
    return error_response(422, "validation_error", _describe_validation(errors), errors=errors)


# What Starlette and FastAPI say, and what we say instead.
_ROUTER_DETAILS = {
    (400, "There was an error parsing the body"): "The request body could not be read: send UTF-8 JSON.",
    (404, "Not Found"): "There is nothing at this address.",
    (405, "Method Not Allowed"): "This address does not accept that method.",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, _OTHER_HTTP_CODE)
    detail = exc.detail if isinstance(exc.detail, str) else "The request could not be handled."
    detail = _ROUTER_DETAILS.get((exc.status_code, detail), detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        problems = malformed_ids(request)
        if problems:
            return _validation_failed(problems)
    elif exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, code, detail, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    return error_response(500, "internal_error", "Something went wrong on our side; please try again.")


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
