"""Transactions: one listing, filtered and searched, newest first, a page at a time; the same filters' count and
sums per currency; one transaction's details."""

import re
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from src.auth.dependencies import CurrentUser
from src.kit.dependencies import SessionDep
from src.kit.pagination import MAX_LIMIT, CursorQuery
from src.kit.responses import error_responses
from src.kit.schemas import Day, Page
from src.models.enums import TransactionStatus
from src.transactions.repository import Direction
from src.transactions.schemas import SearchText, TransactionDetailRead, TransactionRead, TransactionSummaryRead
from src.transactions.service import DEFAULT_STATUSES, TransactionFilters
from src.transactions.service import transaction as transaction_service

router = APIRouter(prefix="/api/transactions", tags=["transactions"])

# An amount filter as typed: a plain decimal of ASCII digits, signed or not, at most 16 digits before the point
# (beyond what any account holds) and 8 after (short of what PostgreSQL's NUMERIC would refuse). A pattern rather
# than Decimal's own parsing, which also takes `1e3`, `1_000` or digits of other scripts the document cannot state.
AMOUNT_FILTER_PATTERN = r"^[+-]?(?:[0-9]{1,16}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})$"
# A size: the same digits without a sign (how much money moved, whichever way).
SIZE_FILTER_PATTERN = r"^(?:[0-9]{1,16}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})$"
_SIZE = re.compile(SIZE_FILTER_PATTERN)
# The largest id PostgreSQL's bigint holds: a larger one is no transaction (404), not a database error.
_MAX_ID = 2**63 - 1


def _size(value: object) -> object:
    """A size the pattern refuses is said in words a person can act on, not as the pattern."""
    if isinstance(value, str) and not _SIZE.fullmatch(value):
        raise PydanticCustomError(
            "size_format", "Enter an amount without a sign, such as 20 or 19.99 (use direction for in or out)"
        )
    return value


Size = Annotated[str, BeforeValidator(_size), WithJsonSchema({"type": "string", "pattern": SIZE_FILTER_PATTERN})]


def transaction_filters(
    account_id: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=MAX_LIMIT, description="Only these accounts (repeat the parameter); default: all."),
    ] = None,
    date_from: Annotated[Day | None, Query(description="Booked on or after this day.")] = None,
    date_to: Annotated[
        Day | None,
        Query(description="Booked on or before this day; not before `date_from` (400 `invalid_date_range`)."),
    ] = None,
    status: Annotated[
        list[TransactionStatus] | None,
        Query(description="Repeatable. Default: booked and pending; void only when asked for."),
    ] = None,
    include_superseded: Annotated[
        bool,
        Query(description="Also list pending items already replaced by their booked transaction (`booked_as_id`)."),
    ] = False,
    direction: Annotated[
        Direction | None,
        Query(description="`in`: money in (positive amounts); `out`: money out (negative). A zero amount is neither."),
    ] = None,
    min_size: Annotated[
        Size | None,
        Query(
            description="At least this much money, whichever way (the amount without its sign, exact).",
            examples=["20.00"],
        ),
    ] = None,
    max_size: Annotated[
        Size | None,
        Query(
            description="At most this much money, whichever way; not below `min_size` (400 `invalid_amount_range`).",
            examples=["100.00"],
        ),
    ] = None,
    min_amount: Annotated[
        str | None,
        Query(
            pattern=AMOUNT_FILTER_PATTERN,
            description="At least this amount (signed, exact). `direction` and `min_size` say it more plainly.",
            examples=["-100.00"],
        ),
    ] = None,
    max_amount: Annotated[
        str | None,
        Query(
            pattern=AMOUNT_FILTER_PATTERN,
            description="At most this amount (signed, exact); not below `min_amount` (400 `invalid_amount_range`).",
            examples=["-0.01"],
        ),
    ] = None,
    q: Annotated[
        SearchText | None,
        Query(
            description="Words to find in description or counterparty, each as the start of a word and ignoring "
            "case and accents (`coff` finds Coffee, `muller` finds Müller); all must appear."
        ),
    ] = None,
) -> TransactionFilters:
    """The listing's filters, read once for the listing and its summary alike."""
    return TransactionFilters(
        account_ids=account_id,
        date_from=date_from,
        date_to=date_to,
        statuses=frozenset(status) if status else DEFAULT_STATUSES,
        include_superseded=include_superseded,
        min_amount=Decimal(min_amount) if min_amount is not None else None,
        max_amount=Decimal(max_amount) if max_amount is not None else None,
        direction=direction,
        min_size=Decimal(min_size) if min_size is not None else None,
        max_size=Decimal(max_size) if max_size is not None else None,
        q=q,
    )


FiltersDep = Annotated[TransactionFilters, Depends(transaction_filters)]


@router.get("", response_model=Page[TransactionRead], responses=error_responses(400, 401, 404))
def list_transactions(
    session: SessionDep,
    user: CurrentUser,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: CursorQuery = None,
) -> Page[TransactionRead]:
    """The caller's transactions, newest first (`booking_date`, then `id`), with keyset pagination: pass
    `next_cursor` back as `cursor`. Pages stay stable while new transactions arrive.

    Amounts are exact decimal strings. A pending item that was booked since (`booked_as_id` set) is replaced by
    its booked transaction and listed only with `include_superseded=true`. An `account_id` that is not the
    caller's answers 404 `account_not_found`; `date_from` after `date_to` 400 `invalid_date_range`;
    `min_amount` above `max_amount`, or `min_size` above `max_size`, 400 `invalid_amount_range`; a damaged cursor
    400 `invalid_cursor`."""
    page = transaction_service.list(session, user, filters=filters, limit=limit, cursor=cursor)
    return Page(items=[TransactionRead.model_validate(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/summary", response_model=TransactionSummaryRead, responses=error_responses(400, 401, 404))
def summarise_transactions(session: SessionDep, user: CurrentUser, filters: FiltersDep) -> TransactionSummaryRead:
    """How many transactions `GET /api/transactions` lists for the same filters (every page), and per currency
    the sums of money in, money out and the net: exact decimal strings, never added across currencies.

    Takes exactly the listing's filters and answers the same errors (no `limit`, no `cursor`)."""
    return TransactionSummaryRead.from_summary(transaction_service.summary(session, user, filters=filters))


@router.get("/{transaction_id}", response_model=TransactionDetailRead, responses=error_responses(401, 404))
def read_transaction(
    session: SessionDep,
    user: CurrentUser,
    transaction_id: Annotated[int, Path(ge=1, le=_MAX_ID, description="The `id` of a listed transaction.")],
) -> TransactionDetailRead:
    """One transaction as listed, with the bank's other ids and, on a booked transaction, the pending item it was
    booked from (`booked_from`). Any status (void, superseded pending). Another user's transaction answers 404
    `transaction_not_found`, as one that does not exist."""
    return TransactionDetailRead.from_detail(transaction_service.get(session, user, transaction_id))
