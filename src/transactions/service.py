"""Transactions: the listing's rules (what is listed by default, who may see what, what a cursor is); the query
itself lives in `repository.py`.

Which rows are listed:
- `status` defaults to booked and pending; `void` rows (pending items the bank dropped) only when asked for.
- A pending row whose `booked_as_id` is set was superseded by its booked successor, which is listed in its place.
  It is still a pending row, so it shows only when pending rows are asked for (the default) *and*
  `include_superseded` is true.
- `q` is PostgreSQL full-text search (`simple` configuration: lower-cased words, no stemming) on description and
  counterparty name, accents folded on both sides ("muller" finds "Müller"), each word a prefix ("coff" finds
  "Coffee", as a person types); every word must match.
- Amounts: `min_amount`/`max_amount` bound the signed amount; `direction` keeps money in (positive) or out
  (negative), and `min_size`/`max_size` bound the amount without its sign ("out, 20 to 100" is -100 to -20).
- The summary counts and sums exactly the rows the listing lists for the same filters, per currency.
- Newest first: `booking_date DESC, id DESC`. The cursor is the last row's (booking_date, id), so a page never
  shifts when rows are added elsewhere, and depth costs nothing (no OFFSET).
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from src.accounts.service import account as account_service
from src.accounts.service import check_date_range
from src.kit.pagination import InvalidCursorError, decode_cursor, encode_cursor
from src.models import Account, Connection, Transaction, User
from src.models.enums import TransactionStatus
from src.transactions.exceptions import InvalidAmountRangeError, TransactionNotFoundError
from src.transactions.repository import CurrencyTotal, Direction, PageQuery, RowFilter, fetch_page, fetch_summary

DEFAULT_STATUSES = frozenset({TransactionStatus.booked, TransactionStatus.pending})


@dataclass(frozen=True, kw_only=True)
class TransactionFilters:
    account_ids: Collection[uuid.UUID] | None = None  # None: every account of the user's
    date_from: date | None = None
    date_to: date | None = None
    statuses: frozenset[TransactionStatus] = field(default=DEFAULT_STATUSES)
    include_superseded: bool = False
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    direction: Direction | None = None
    min_size: Decimal | None = None
    max_size: Decimal | None = None
    q: str | None = None


@dataclass(frozen=True)
class TransactionPage:
    items: list[Transaction]
    next_cursor: str | None


@dataclass(frozen=True)
class TransactionSummary:
    count: int
    totals: list[CurrencyTotal]  # by currency code


@dataclass(frozen=True)
class TransactionDetail:
    """A transaction, and the pending row it was booked from (the row whose `booked_as_id` is this one), if any."""

    transaction: Transaction
    booked_from: Transaction | None


def _decode(cursor: str) -> tuple[date, int]:
    value = decode_cursor(cursor)
    day, row_id = value.get("d"), value.get("i")
    if isinstance(day, str) and isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id < 2**63:
        try:
            return date.fromisoformat(day), row_id
        except ValueError:
            pass
    raise InvalidCursorError("This cursor is not valid; start again from the first page.")


def _encode(row: Transaction) -> str:
    return encode_cursor({"d": row.booking_date.isoformat(), "i": row.id})


def _row_filter(session: Session, user: User, filters: TransactionFilters) -> RowFilter | None:
    """The filters checked and bound to the user's accounts; None when no row can match (no account, no status).
    An account filter naming an account that is not the user's answers 404 `account_not_found`, as reading that
    account would."""
    check_date_range(filters.date_from, filters.date_to)
    low, high = filters.min_amount, filters.max_amount
    if low is not None and high is not None and low > high:
        raise InvalidAmountRangeError("The minimum amount is above the maximum amount.")
    small, large = filters.min_size, filters.max_size
    if small is not None and large is not None and small > large:
        raise InvalidAmountRangeError("The minimum size is above the maximum size.")
    account_ids = account_service.owned_ids(session, user, filters.account_ids)
    if not account_ids or not filters.statuses:
        return None
    return RowFilter(
        account_ids=account_ids,
        statuses=filters.statuses,
        include_superseded=filters.include_superseded,
        date_from=filters.date_from,
        date_to=filters.date_to,
        min_amount=low,
        max_amount=high,
        direction=filters.direction,
        min_size=small,
        max_size=large,
        q=filters.q,
    )


class TransactionService:
    def list(
        self,
        session: Session,
        user: User,
        *,
        filters: TransactionFilters,
        limit: int,
        cursor: str | None = None,
    ) -> TransactionPage:
        """One page of the user's transactions, newest first."""
        rows_wanted = _row_filter(session, user, filters)
        after = _decode(cursor) if cursor is not None else None
        if rows_wanted is None:
            return TransactionPage([], None)
        query = PageQuery(**vars(rows_wanted), after=after, limit=limit)
        rows = fetch_page(session, query)
        if len(rows) <= limit:
            return TransactionPage(rows, None)
        return TransactionPage(rows[:limit], _encode(rows[limit - 1]))

    def summary(self, session: Session, user: User, *, filters: TransactionFilters) -> TransactionSummary:
        """How many transactions the listing holds for these filters, over every page, and their sums per currency
        (never added across currencies)."""
        rows_wanted = _row_filter(session, user, filters)
        totals = fetch_summary(session, rows_wanted) if rows_wanted is not None else []
        return TransactionSummary(count=sum(total.count for total in totals), totals=totals)

    def get(self, session: Session, user: User, transaction_id: int) -> TransactionDetail:
        """One of the user's transactions, whatever its status; another user's answers 404 like a missing one."""
        owned = (
            select(Transaction)
            .join(Account, Account.id == Transaction.account_id)
            .join(Connection, Connection.id == Account.connection_id)
            .where(Connection.user_id == user.id)
        )
        row = session.scalar(owned.where(Transaction.id == transaction_id))
        if row is None:
            raise TransactionNotFoundError("There is no such transaction.")
        # The ingest links at most one pending row to a booked one; the lowest id, should two ever point at it.
        booked_from = session.scalar(owned.where(Transaction.booked_as_id == row.id).order_by(Transaction.id).limit(1))
        return TransactionDetail(row, booked_from)


transaction = TransactionService()
