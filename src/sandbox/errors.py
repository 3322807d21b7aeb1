"""GoCardless's error bodies, in both of its shapes, built in one place."""

from typing import Any

from starlette.responses import JSONResponse


def error(status: int, summary: str, detail: str, *, type_: str | None = None) -> JSONResponse:
    """The normal envelope: summary, detail, status_code (and `type` for bank-side failures)."""
    body: dict[str, Any] = {"summary": summary, "detail": detail}
    if type_ is not None:
        body["type"] = type_
    body["status_code"] = status
    return JSONResponse(body, status_code=status)


def field_errors(errors: dict[str, Any], status: int = 400) -> JSONResponse:
    """The validation envelope: field names as keys, `status_code` beside them.

    The spec's examples show only the field keys, but the schema it declares for these same responses
    (ErrorResponse) requires `summary` and `detail`; so the first field's problem is repeated at the top level
    (and every field's in `detail`), and the body is both field-keyed and a valid ErrorResponse.
    """
    summaries: list[str] = []
    details: list[str] = []
    for name, problem in errors.items():
        for item in problem if isinstance(problem, list) else [problem]:
            if isinstance(item, dict):
                summaries.append(str(item["summary"]))
                details.append(f"{name}: {item['detail']}")
            else:
                summaries.append(str(item))
                details.append(f"{name}: {item}")
    body = {**errors, "summary": summaries[0], "detail": " ".join(details), "status_code": status}
    return JSONResponse(body, status_code=status)


def field_error(name: str, summary: str, detail: str, status: int = 400) -> JSONResponse:
    return field_errors({name: {"summary": summary, "detail": detail}}, status)


def required(*names: str) -> JSONResponse:
    return field_errors({name: ["This field is required."] for name in names})


def invalid_token() -> JSONResponse:
    return error(401, "Invalid token", "Token is invalid or expired")


def invalid_id(value: str) -> JSONResponse:
    return error(400, "Invalid ID", f"{value} is not a valid UUID.")


def not_found() -> JSONResponse:
    return error(404, "Not found.", "Not found.")


def rate_limited(limit: int, period: str, seconds: int) -> JSONResponse:
    return error(
        429,
        "Rate limit exceeded",
        f"The rate limit for this resource is {limit}/{period}. Please try again in {seconds} seconds",
    )
