"""Institutions as the API shows them."""

from pydantic import Field

from src.api.schemas import Schema


class InstitutionRead(Schema):
    id: str = Field(examples=["SANDBOXFINANCE_SFIN0000"])
    name: str = Field(examples=["Sandbox Finance"])
    bic: str | None = None
    logo: str | None = None
    countries: list[str]
    transaction_total_days: int | None = Field(default=None, description="History the bank announces (a hint).")
    max_access_valid_for_days: int | None = None
