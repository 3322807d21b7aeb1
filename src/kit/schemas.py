"""Schema building blocks every domain shares: the read-model base, the list envelope, and input types that take
exactly what the OpenAPI document says they take."""

import re
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

T = TypeVar("T")

# Text without NUL, as OpenAPI states it: PostgreSQL text cannot hold NUL, and `Schema` refuses it in any request.
WITHOUT_NUL = r"^[^\x00]*$"


class Schema(BaseModel):
    """Base of every request and response model: reads ORM objects, refuses unknown fields in requests."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold NUL: refuse it here as a 422, not deep down as a 500."""
        if _holds_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("Input should be a day written YYYY-MM-DD")
    return value


# A day as OpenAPI's `format: date` has it (YYYY-MM-DD). pydantic alone also reads `0` or `1700000000` as days
# since 1970 and `2026-01-01T00:00:00` as a day, none of which the document allows.
Day = Annotated[date, BeforeValidator(_iso_day)]


class Page(BaseModel, Generic[T]):
    """`{"items": [...], "next_cursor": "opaque" | null}`: pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; null on the last page.")
