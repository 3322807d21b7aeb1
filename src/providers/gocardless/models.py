"""Typed GoCardless payloads: tolerant of extra and missing optional fields.

Each model keeps the verbatim payload it was built from (`payload`), because the raw tables store what
GoCardless said, unchanged, and the rate limits read from its response (`rate_limits`).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from src.providers.gocardless.ratelimits import RateLimits


class GoCardlessModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, arbitrary_types_allowed=True)

    payload: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    rate_limits: RateLimits | None = Field(default=None, exclude=True, repr=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], rate_limits: RateLimits | None = None) -> Self:
        model = cls.model_validate(payload)
        model.payload = payload
        model.rate_limits = rate_limits
        return model


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Institution(GoCardlessModel):
    id: str
    name: str
    bic: str | None = None
    logo: str | None = None
    countries: list[str] = Field(default_factory=list)
    # Strings in the API ("90"); hints only, banks may give less.
    transaction_total_days: int | None = None
    max_access_valid_for_days: int | None = None
    supported_features: list[str] = Field(default_factory=list)

    @field_validator("transaction_total_days", "max_access_valid_for_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> int | None:
        return _int_or_none(value)


# GoCardless's defaults for an end-user agreement, also what finsync assumes when a stored one does not say.
DEFAULT_HISTORY_DAYS = 90
DEFAULT_ACCESS_DAYS = 90


class Agreement(GoCardlessModel):
    id: str
    created: datetime | None = None
    institution_id: str
    max_historical_days: int = DEFAULT_HISTORY_DAYS
    access_valid_for_days: int = DEFAULT_ACCESS_DAYS
    access_scope: list[str] = Field(default_factory=list)
    accepted: datetime | None = None
    reconfirmation: bool = False


class Requisition(GoCardlessModel):
    id: str
    created: datetime | None = None
    redirect: str | None = None
    status: str
    institution_id: str
    agreement: str | None = None
    reference: str | None = None
    accounts: list[str] = Field(default_factory=list)
    user_language: str | None = None
    link: str | None = None


class RequisitionPage(GoCardlessModel):
    count: int
    next: str | None = None
    previous: str | None = None
    results: list[Requisition] = Field(default_factory=list)


class AccountMetadata(GoCardlessModel):
    id: str
    created: datetime | None = None
    last_accessed: datetime | None = None
    iban: str | None = None
    bban: str | None = None
    status: str | None = None
    institution_id: str | None = None
    owner_name: str | None = None
    name: str | None = None


class AccountDetails(GoCardlessModel):
    account: dict[str, Any] = Field(default_factory=dict)

    @property
    def iban(self) -> str | None:
        value = self.account.get("iban")
        return str(value) if value else None

    @property
    def currency(self) -> str | None:
        value = self.account.get("currency")
        return str(value) if value else None


class Amount(BaseModel):
    model_config = ConfigDict(extra="allow")
    amount: Decimal
    currency: str | None = None


class Balance(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    balance_amount: Amount = Field(alias="balanceAmount")
    balance_type: str = Field(alias="balanceType")
    reference_date: date | None = Field(default=None, alias="referenceDate")
    last_change_date_time: datetime | None = Field(default=None, alias="lastChangeDateTime")


class AccountBalances(GoCardlessModel):
    balances: list[Balance] = Field(default_factory=list)


class TransactionLists(BaseModel):
    model_config = ConfigDict(extra="allow")
    # Kept as the bank's dicts: the raw table stores them verbatim and `src/ingest/` normalises them.
    booked: list[dict[str, Any]] = Field(default_factory=list)
    pending: list[dict[str, Any]] = Field(default_factory=list)


class AccountTransactions(GoCardlessModel):
    transactions: TransactionLists
    last_updated: datetime | None = None
