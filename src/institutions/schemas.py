"""Institutions as the API shows them, and the countries a user can list them in.

Services answer domain objects (Institution rows); `InstitutionRead.model_validate` reads them as they are (the
row's own shape), and endpoints call that: the one place an institution takes its API shape.
"""

from typing import Final

from pydantic import Field

from src.kit.schemas import Schema
from src.models.enums import Provider

# Where GoCardless Bank Account Data reaches banks: the EU/EEA and the UK (the web page offers the same list).
SERVED_COUNTRIES: Final = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
# One of them, in any case ("gb" is GB): what the API accepts, as OpenAPI states it.
SERVED_COUNTRY_PATTERN: Final = (
    "^(?:" + "|".join(f"[{code[0]}{code[0].lower()}][{code[1]}{code[1].lower()}]" for code in SERVED_COUNTRIES) + ")$"
)


class InstitutionRead(Schema):
    id: str = Field(
        examples=["SANDBOXFINANCE_SFIN0000"],
        description="Unique across providers: Enable Banking banks' ids start with `ENABLEBANKING-`.",
    )
    provider: Provider = Field(description="The bank-data provider that reaches this bank.")
    name: str = Field(examples=["Sandbox Finance"])
    bic: str | None = None
    logo: str | None = None
    countries: list[str]
    transaction_total_days: int | None = Field(default=None, description="History the bank announces (a hint).")
    max_access_valid_for_days: int | None = None
