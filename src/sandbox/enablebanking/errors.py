"""Enable Banking's error body, `ErrorResponse`: `message`, `code` (the HTTP status), `error` (an ErrorCode), `detail`.

Each ErrorCode answers with one HTTP status and, by default, the description the OpenAPI document gives it
(`x-enum-descriptions`). The document does not pair codes with statuses; the pairs below follow what clients
observe of the real API: 401 for the session and authorisation problems (`EXPIRED_SESSION` is a 401), 422 for a
request the API understood but refuses (a PSU header missing, a period the bank refuses), 429 when the bank
throttles, 400 when the bank fails, 404 for what does not exist.
"""

from typing import Any

from starlette.responses import JSONResponse

CODES: dict[str, tuple[int, str]] = {
    "ACCESS_DENIED": (403, "Access to this resource is denied. Check services available for your application."),
    "ACCOUNT_DOES_NOT_EXIST": (404, "No account found matching provided id"),
    "ALREADY_AUTHORIZED": (422, "Session is already authorized"),
    "ASPSP_ERROR": (400, "Error interacting with ASPSP"),
    "ASPSP_RATE_LIMIT_EXCEEDED": (429, "ASPSP Rate limit exceeded"),
    "ASPSP_TIMEOUT": (408, "Timeout interacting with ASPSP"),
    "AUTHORIZATION_NOT_PROVIDED": (401, "Authorization header is not provided"),
    "CLOSED_SESSION": (401, "Session is closed"),
    "DATE_FROM_IN_FUTURE": (422, "date_from can not be in the future"),
    "DATE_TO_WITHOUT_DATE_FROM": (422, "date_from must be provided if date_to provided"),
    "EXPIRED_AUTHORIZATION_CODE": (422, "Authorization code is expired"),
    "EXPIRED_SESSION": (401, "Session is expired"),
    "NO_ACCOUNTS_ADDED": (422, "No allowed accounts added to the application"),
    "PSU_HEADER_INVALID": (422, "Provided PSU header contains invalid value"),
    "PSU_HEADER_NOT_PROVIDED": (422, "Required PSU header is not provided"),
    "REDIRECT_URI_NOT_ALLOWED": (422, "Redirect URI not allowed"),
    "REVOKED_SESSION": (401, "Session is revoked"),
    "SESSION_DOES_NOT_EXIST": (404, "No session found matching provided id"),
    "TRANSACTION_DOES_NOT_EXIST": (404, "No transaction found matching provided id"),
    "UNAUTHORIZED_ACCESS": (401, "Unauthorized access"),
    "WRONG_ASPSP_PROVIDED": (422, "Wrong ASPSP name provided"),
    "WRONG_AUTHORIZATION_CODE": (422, "Wrong authorization code provided"),
    "WRONG_CONTINUATION_KEY": (422, "Wrong continuation key provided"),
    "WRONG_DATE_INTERVAL": (422, "date_from should be less than or equal date_to"),
    "WRONG_REQUEST_PARAMETERS": (422, "Wrong request parameters provided"),
    "WRONG_SESSION_STATUS": (422, "Wrong session status"),
    "WRONG_TRANSACTIONS_PERIOD": (422, "Wrong transactions period requested"),
}


def error(code: str, detail: Any = None, *, message: str | None = None, status: int | None = None) -> JSONResponse:
    """The ErrorResponse for `code`, with its usual status unless `status` says otherwise."""
    usual_status, usual_message = CODES[code]
    status = status or usual_status
    body: dict[str, Any] = {"message": message or usual_message, "code": status, "error": code}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


def application_inactive() -> JSONResponse:
    """What an application that is not (or no longer) active gets: a 403 without an `error` code."""
    return JSONResponse({"code": 403, "message": "Application is not active"}, status_code=403)


def plain(status: int, message: str) -> JSONResponse:
    """A failure with no ErrorCode of its own (not found, method not allowed, a gateway in trouble)."""
    return JSONResponse({"message": message, "code": status}, status_code=status)
