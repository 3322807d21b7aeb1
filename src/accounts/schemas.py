"""Accounts and balances as the API shows and accepts them.

Services answer domain objects (Account and BalanceSnapshot rows); the read schemas build themselves from them here
(`AccountRead.from_account`, which masks the IBAN and nests the balance; `BalanceSnapshotRead.model_validate`, the
row's own shape), and endpoints call that: the one place an account takes its API shape.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from src.accounts.daily import DailyBalance
from src.kit.schemas import WITHOUT_NUL, Day, Schema
from src.models import Account
from src.models.enums import AccountStatus, Provider


def _exact(value: Decimal) -> str:
    # `format(…, "f")`, not `str()`: NUMERIC zero with a scale comes back as Decimal("0E-8"), which str() would
    # render in exponent notation.
    return format(value, "f")


# Money leaves the API as a decimal string, exactly as stored: a float would round, an exponent would surprise.
Amount = Annotated[
    Decimal,
    PlainSerializer(_exact, return_type=str, when_used="json"),
    Field(description="Exact decimal, as a string; negative for money going out.", examples=["-12.34"]),
]

_IBAN_MASK = "**** ****"


def without_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL: refused as invalid input (422), not left to fail in the database."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def mask_iban(iban: str | None) -> str | None:
    """`GB29 **** **** 6819`: country and check digits and the last four, enough to tell accounts apart."""
    if iban is None:
        return None
    compact = "".join(iban.split()).upper()
    if len(compact) < 12:
        # Not a real IBAN (the shortest, Norway's, has 15 characters): show no more than its last two.
        return f"**** {compact[-2:]}" if len(compact) > 4 else "****"
    return f"{compact[:4]} {_IBAN_MASK} {compact[-4:]}"


class Balance(Schema):
    amount: Amount
    currency: str | None = Field(examples=["EUR"])
    type: str | None = Field(description="GoCardless balance type, e.g. closingBooked.", examples=["closingBooked"])
    as_of: datetime | None = Field(description="When the bank says this balance applied.")


class AccountRead(Schema):
    id: uuid.UUID
    connection_id: uuid.UUID
    provider: Provider = Field(description="The bank-data provider this account's data comes through.")
    name: str | None = Field(description="The bank's name for the account.")
    display_name: str | None = Field(description="The user's own name for it; null when not set.")
    iban: str | None = Field(description="Masked in lists (`GB29 **** **** 6819`), in full on the account itself.")
    currency: str | None
    status: AccountStatus
    hidden: bool
    balance: Balance | None = Field(description="The current balance; null until the bank has reported one.")
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f3c56-4a7e-4b53-9a43-1f7d8c2b9e10",
                    "connection_id": "5d1c2a9e-7f0b-4f63-8a25-3c1e9b7d6a42",
                    "provider": "gocardless",
                    "name": "Main Account",
                    "display_name": "Bills",
                    "iban": "GB29 **** **** 6819",
                    "currency": "GBP",
                    "status": "active",
                    "hidden": False,
                    "balance": {
                        "amount": "1234.56",
                        "currency": "GBP",
                        "type": "closingBooked",
                        "as_of": "2026-11-24T00:00:00Z",
                    },
                    "created_at": "2026-11-01T09:30:00Z",
                }
            ]
        }
    )

    @classmethod
    def from_account(cls, account: Account, *, full_iban: bool) -> "AccountRead":
        balance = None
        if account.balance_amount is not None:
            balance = Balance(
                amount=account.balance_amount,
                currency=account.balance_currency or account.currency,
                type=account.balance_type,
                as_of=account.balance_as_of,
            )
        return cls(
            id=account.id,
            connection_id=account.connection_id,
            provider=account.provider,
            name=account.name,
            display_name=account.display_name,
            iban=account.iban if full_iban else mask_iban(account.iban),
            currency=account.currency,
            status=account.status,
            hidden=account.hidden,
            balance=balance,
            created_at=account.created_at,
        )


class AccountUpdate(Schema):
    """Every field optional: only the fields sent change. An empty `display_name` clears it."""

    display_name: (
        Annotated[str, StringConstraints(max_length=100, pattern=WITHOUT_NUL), AfterValidator(without_nul)] | None
    ) = Field(default=None, examples=["Bills"])
    # Optional but never null (SkipJsonSchema: the document says boolean, as `_hidden_not_null` holds it).
    hidden: bool | SkipJsonSchema[None] = Field(
        default=None, description="Hide the account in the app; its data keeps syncing."
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"display_name": "Bills", "hidden": False}]})

    @field_validator("display_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @model_validator(mode="after")
    def _hidden_not_null(self) -> "AccountUpdate":
        if "hidden" in self.model_fields_set and self.hidden is None:
            raise ValueError("hidden must be true or false")
        return self


class BalanceSnapshotRead(Schema):
    as_of: date = Field(description="The day this balance is for.")
    type: str = Field(examples=["closingBooked"])
    amount: Amount
    currency: str = Field(examples=["EUR"])

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"as_of": "2026-11-24", "type": "closingBooked", "amount": "1234.56", "currency": "EUR"}]
        }
    )


class DailyBalanceRead(Schema):
    """One day of the derived balance history (`src/accounts/daily.py`: the rule)."""

    date: Day = Field(description="The day; `amount` is its end-of-day balance.")
    amount: Amount = Field(
        description="End-of-day balance as the booked transactions tell it, counted back (or forward) from the "
        "bank's latest booked balance; exact decimal, as a string.",
        examples=["1234.56"],
    )
    currency: str = Field(examples=["EUR"])
    derived: bool = Field(
        description="True when computed from the transactions; false on a day the bank reported this very amount."
    )
    reported: Amount | None = Field(
        description="The booked balance the bank reported for this day (closing or interim booked); null when none.",
        examples=["1234.56"],
    )
    drift: Amount | None = Field(
        description="`reported` − `amount` when the two differ (a transaction missing, extra or changed in what the "
        "bank lets us read); null when the bank reported nothing that day or agrees.",
        examples=["-20.00"],
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-11-24",
                    "amount": "1234.56",
                    "currency": "EUR",
                    "derived": True,
                    "reported": "1214.56",
                    "drift": "-20.00",
                }
            ]
        }
    )

    @classmethod
    def from_day(cls, day: DailyBalance) -> "DailyBalanceRead":
        return cls(
            date=day.day,
            amount=day.amount,
            currency=day.currency,
            derived=day.derived,
            reported=day.reported,
            drift=day.drift,
        )
