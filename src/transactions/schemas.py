"""Transactions as the API shows them.

Services answer domain objects (Transaction rows); `TransactionRead.model_validate` reads them as they are (the
row's own shape), `TransactionDetailRead.from_detail` and `TransactionSummaryRead.from_summary` shape the service's
views, and endpoints call those: the one place a transaction takes its API shape.
"""

import uuid
from datetime import date
from typing import Annotated, Any, Self

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from src.accounts.schemas import Amount, without_nul
from src.kit.schemas import WITHOUT_NUL, Schema
from src.models.enums import TransactionStatus
from src.transactions.service import TransactionDetail, TransactionSummary

# Search words as typed; surrounding blanks dropped (only blanks: no search).
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=WITHOUT_NUL), AfterValidator(without_nul)
]


# One booked card payment as the listing shows it; the details' example is this one, and the pending item it was
# booked from.
_LISTED_EXAMPLE: dict[str, Any] = {
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

    model_config = ConfigDict(json_schema_extra={"examples": [_LISTED_EXAMPLE]})


class TransactionDetailRead(TransactionRead):
    """A transaction as listed, with the bank's other ids and the pending item it was booked from."""

    internal_transaction_id: str | None = Field(description="The bank's internal id, when it gives one.")
    entry_reference: str | None = Field(description="The bank's entry reference, when it gives one.")
    booked_from: TransactionRead | None = Field(
        description="On a booked transaction: the pending item it replaced (whose `booked_as_id` is this id)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_LISTED_EXAMPLE,
                    "internal_transaction_id": "c5a8e2d0",
                    "entry_reference": None,
                    "booked_from": {
                        **_LISTED_EXAMPLE,
                        "id": 48190,
                        "status": "pending",
                        "booking_date": "2026-11-23",
                        "transaction_id": None,
                        "booked_as_id": 48213,
                    },
                }
            ]
        }
    )

    @classmethod
    def from_detail(cls, detail: TransactionDetail) -> Self:
        listed = TransactionRead.model_validate(detail.transaction).model_dump()
        return cls(
            **listed,
            internal_transaction_id=detail.transaction.internal_transaction_id,
            entry_reference=detail.transaction.entry_reference,
            booked_from=TransactionRead.model_validate(detail.booked_from) if detail.booked_from else None,
        )


class CurrencyTotalRead(Schema):
    currency: str = Field(examples=["EUR"])
    count: int = Field(description="How many of the transactions are in this currency.")
    amount_in: Amount = Field(description="The sum of the positive amounts (money in), exact; `0` when none.")
    amount_out: Amount = Field(
        description="The sum of the negative amounts (money out), signed like the rows: negative, or `0` when none."
    )
    net: Amount = Field(description="`amount_in` + `amount_out`.")


class TransactionSummaryRead(Schema):
    count: int = Field(description="How many transactions the listing holds for these filters, over every page.")
    totals: list[CurrencyTotalRead] = Field(
        description="Per currency (by code), never added across currencies; empty when nothing matches."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 2969,
                    "totals": [
                        {
                            "currency": "EUR",
                            "count": 2950,
                            "amount_in": "48211.50",
                            "amount_out": "-45102.37",
                            "net": "3109.13",
                        },
                        {"currency": "SEK", "count": 19, "amount_in": "0", "amount_out": "-2310.00", "net": "-2310.00"},
                    ],
                }
            ]
        }
    )

    @classmethod
    def from_summary(cls, summary: TransactionSummary) -> Self:
        return cls(
            count=summary.count,
            totals=[
                CurrencyTotalRead(
                    currency=total.currency,
                    count=total.count,
                    amount_in=total.amount_in,
                    amount_out=total.amount_out,
                    net=total.net,
                )
                for total in summary.totals
            ],
        )
