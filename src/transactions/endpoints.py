"""Transactions: one listing, filtered and searched, newest first, a page at a time."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from src.api.deps import SessionDep
from src.api.errors import error_responses
from src.api.pagination import MAX_LIMIT
from src.api.schemas import Page
from src.auth.dependencies import CurrentUser
from src.models.enums import TransactionStatus
from src.transactions.schemas import SearchText, TransactionRead
from src.transactions.service import DEFAULT_STATUSES, TransactionFilters
from src.transactions.service import transaction as transaction_service

router = APIRouter(prefix="/api/transactions", tags=["transactions"])

# Bounds of an amount filter: beyond what any account holds, short of what PostgreSQL's NUMERIC would refuse.
_DIGITS, _DECIMALS = 24, 8


@router.get("", response_model=Page[TransactionRead], responses=error_responses(400, 401, 404))
def list_transactions(
    session: SessionDep,
    user: CurrentUser,
    account_id: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=MAX_LIMIT, description="Only these accounts (repeat the parameter); default: all."),
    ] = None,
    date_from: Annotated[date | None, Query(description="Booked on or after this day.")] = None,
    date_to: Annotated[date | None, Query(description="Booked on or before this day.")] = None,
    status: Annotated[
        list[TransactionStatus] | None,
        Query(description="Repeatable. Default: booked and pending; void only when asked for."),
    ] = None,
    include_superseded: Annotated[
        bool,
        Query(description="Also list pending items already replaced by their booked transaction (`booked_as_id`)."),
    ] = False,
    min_amount: Annotated[
        Decimal | None,
        Query(
            max_digits=_DIGITS,
            decimal_places=_DECIMALS,
            description="At least this amount (signed, exact).",
            examples=["-100.00"],
        ),
    ] = None,
    max_amount: Annotated[
        Decimal | None,
        Query(
            max_digits=_DIGITS,
            decimal_places=_DECIMALS,
            description="At most this amount (signed, exact).",
            examples=["-0.01"],
        ),
    ] = None,
    q: Annotated[
        SearchText | None,
        Query(description="Words to find in description or counterparty; all must appear (case-insensitive)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> Page[TransactionRead]:
    """The caller's transactions, newest first (`booking_date`, then `id`), with keyset pagination: pass
    `next_cursor` back as `cursor`. Pages stay stable while new transactions arrive.

    Amounts are exact decimal strings. A pending item that was booked since (`booked_as_id` set) is replaced by
    its booked transaction and listed only with `include_superseded=true`. An `account_id` that is not the
    caller's answers 404 `account_not_found`; `date_from` after `date_to` 400 `invalid_date_range`;
    `min_amount` above `max_amount` 400 `invalid_amount_range`; a damaged cursor 400 `invalid_cursor`."""
    filters = TransactionFilters(
        account_ids=account_id,
        date_from=date_from,
        date_to=date_to,
        statuses=frozenset(status) if status else DEFAULT_STATUSES,
        include_superseded=include_superseded,
        min_amount=min_amount,
        max_amount=max_amount,
        q=q,
    )
    page = transaction_service.list(session, user, filters=filters, limit=limit, cursor=cursor)
    return Page(items=[TransactionRead.model_validate(row) for row in page.items], next_cursor=page.next_cursor)
