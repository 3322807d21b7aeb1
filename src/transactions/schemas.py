"""Transactions as the API shows them.

Services answer domain objects (Transaction rows); `TransactionRead.model_validate` reads them as they are (the
row's own shape), and endpoints call that: the one place a transaction takes its API shape.
"""

import uuid
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from src.accounts.schemas import Amount, without_nul
from src.kit.schemas import WITHOUT_NUL, Schema
from src.models.enums import TransactionStatus

# Search words as typed; surrounding blanks dropped (only blanks: no search).
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=WITHOUT_NUL), AfterValidator(without_nul)
]


class TransactionRead(Schema):
    id: int
    account_id: uuid.UUID
    status: TransactionStatus = Field(
        description="`booked`, `pending`, or `void` (a pending item the bank dropped; listed only when asked for)."
    )
    booking_date: date = Field(description="The date transactions are sorted and filtered by.")
    value_date: date | None
    date_is_estimated: bool = Field(description="The bank gave no date; `booking_date` is when we first saw it.")
    amount: Amount
    currency: str = Field(examples=["EUR"])
    description: str | None
    counterparty_name: str | None
    counterparty_account: str | None
    transaction_id: str | None = Field(description="The bank's own id, when it gives one.")
    booked_as_id: int | None = Field(
        description="On a pending item that has since been booked: the booked transaction that replaced it."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 48213,
                    "account_id": "0b6f3c56-4a7e-4b53-9a43-1f7d8c2b9e10",
                    "status": "booked",
                    "booking_date": "2026-11-24",
                    "value_date": "2026-11-23",
                    "date_is_estimated": False,
                    "amount": "-4.20",
                    "currency": "EUR",
                    "description": "Card payment Café Zürich",
                    "counterparty_name": "Café Zürich",
                    "counterparty_account": None,
                    "transaction_id": "2026112400123",
                    "booked_as_id": None,
                }
            ]
        }
    )
