"""Schema building blocks every domain shares: the read-model base and the list envelope."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


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


class Page(BaseModel, Generic[T]):
    """`{"items": [...], "next_cursor": "opaque" | null}`: pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; null on the last page.")
