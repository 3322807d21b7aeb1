"""How operations document their answers in OpenAPI: every error status with the error envelope and the headers
it carries (`error_responses`), and the `Location` header of answers that point somewhere (`LOCATION`).

Beside each operation's `responses=`, where the code that sends them is; `src.api.openapi` finishes what FastAPI
cannot know (validation errors, unreadable bodies)."""

from typing import Any

from src.kit.error_envelope import ErrorResponse

LOCATION: dict[str, Any] = {
    "description": "Where the result is (a path, or the frontend's address).",
    "required": True,
    "schema": {"type": "string", "format": "uri-reference"},
}

_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}
_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`.",
            "required": True,
            "schema": {"type": "string", "examples": ["Bearer"]},
        }
    },
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": {**_RETRY_AFTER, "description": "When known: seconds to wait before trying again."}},
}

_DESCRIPTIONS = {
    400: "The request is not valid (`code` says why).",
    401: "Not authenticated, or the token is not valid.",
    403: "Not allowed.",
    404: "Not found (or not yours).",
    409: "Conflicts with the current state.",
    413: "The request body is larger than this API accepts.",
    422: "Validation failed; `errors` lists each problem.",
    429: "Too many requests; try again after `Retry-After` seconds.",
    502: "GoCardless answered with an error.",
    503: "A service this call needs is unavailable; see `Retry-After` when present.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint: each status documented with the error envelope (and the headers it carries).

    422 is added by FastAPI to every operation that takes input, and the 400 and 413 of an unreadable or too large
    body to every operation that takes a body (`src.api.openapi`)."""
    return {status: error_response_doc(status) for status in statuses}


def error_response_doc(status: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
    if status in _HEADERS:
        doc["headers"] = _HEADERS[status]
    return doc
