"""Opaque keyset cursors: the last row's sort key, serialised and base64url-encoded.

A cursor that does not decode is the caller's mistake: `InvalidCursorError` (400, `invalid_cursor`).
"""

import base64
import json
from typing import Annotated, Any

from fastapi import Query

from src.exceptions import AppError

MAX_LIMIT = 500

CursorQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="`next_cursor` of the previous page, as given: any other value is 400 `invalid_cursor`.",
    ),
]
"""The `cursor` query parameter of every keyset-paged listing."""


class InvalidCursorError(AppError):
    status_code = 400
    code = "invalid_cursor"


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursorError("This cursor is not valid; start again from the first page.") from exc
    if not isinstance(value, dict):
        raise InvalidCursorError("This cursor is not valid; start again from the first page.")
    return value
