"""Accounts: list, read, rename or hide, and the daily balance history."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from src.accounts.daily import MAX_DAYS
from src.accounts.schemas import AccountRead, AccountUpdate, BalanceSnapshotRead, DailyBalanceRead
from src.accounts.service import account as account_service
from src.auth.dependencies import CurrentUser
from src.kit.dependencies import SessionDep
from src.kit.pagination import MAX_LIMIT, CursorQuery
from src.kit.responses import error_responses
from src.kit.schemas import Day, Page

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@router.get("", response_model=Page[AccountRead], responses=error_responses(401, 404))
def list_accounts(
    session: SessionDep,
    user: CurrentUser,
    connection_id: Annotated[uuid.UUID | None, Query(description="Only this connection's accounts.")] = None,
) -> Page[AccountRead]:
    """The caller's accounts, hidden ones included (`hidden` says so), with IBANs masked.
    A user has few accounts, so they come in one page (`next_cursor` is null)."""
    accounts = account_service.list(session, user, connection_id=connection_id)
    return Page(items=[AccountRead.from_account(a, full_iban=False) for a in accounts], next_cursor=None)


@router.get("/{account_id:uuid}", response_model=AccountRead, responses=error_responses(401, 404))
def get_account(account_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> AccountRead:
    """One account, with its full IBAN."""
    return AccountRead.from_account(account_service.get(session, user, account_id), full_iban=True)


@router.patch("/{account_id:uuid}", response_model=AccountRead, responses=error_responses(401, 404))
def update_account(account_id: uuid.UUID, body: AccountUpdate, session: SessionDep, user: CurrentUser) -> AccountRead:
    """Change the user's own settings for an account: only the fields sent change."""
    account = account_service.update(session, user, account_id, body)
    return AccountRead.from_account(account, full_iban=True)


@router.get(
    "/{account_id:uuid}/balances", response_model=Page[BalanceSnapshotRead], responses=error_responses(400, 401, 404)
)
def list_account_balances(
    account_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    date_from: Annotated[Day | None, Query(alias="from", description="First day, inclusive.")] = None,
    date_to: Annotated[
        Day | None, Query(alias="to", description="Last day, inclusive; not before `from` (400 `invalid_date_range`).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    cursor: CursorQuery = None,
) -> Page[BalanceSnapshotRead]:
    """The account's daily balances in range, oldest first. Days the bank reported no balance for are absent
    (not filled in). `from` after `to` answers 400 `invalid_date_range`."""
    page = account_service.balances(
        session, user, account_id, date_from=date_from, date_to=date_to, limit=limit, cursor=cursor
    )
    return Page(items=[BalanceSnapshotRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{account_id:uuid}/balances/daily",
    response_model=Page[DailyBalanceRead],
    responses=error_responses(400, 401, 404),
)
def list_account_daily_balances(
    account_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    date_from: Annotated[
        Day | None, Query(alias="from", description="First day, inclusive; default: the history's first day.")
    ] = None,
    date_to: Annotated[
        Day | None,
        Query(
            alias="to",
            description=f"Last day, inclusive; not before `from`, and at most {MAX_DAYS} days after it (400 "
            "`invalid_date_range`). Default: today, or the day of the bank's latest balance if that is later.",
        ),
    ] = None,
) -> Page[DailyBalanceRead]:
    """The account's balance at the end of every day, oldest first, from the first booked transaction on: derived
    from the bank's latest booked balance (closing or interim booked) and the booked transactions, so the history
    covers the whole import from the first sync. Each day says whether the bank reported that very amount
    (`derived`: false), what it reported (`reported`) and how far the transactions disagree with it (`drift`).
    Pending and void transactions, and transactions in another currency than the account's, do not count.

    Empty when the bank has reported no booked balance yet (there is nothing to count from). One page at most:
    `next_cursor` is always null; an open range answers its newest 3660 days (`MAX_DAYS`)."""
    days = account_service.daily_balances(session, user, account_id, date_from=date_from, date_to=date_to)
    return Page(items=[DailyBalanceRead.from_day(day) for day in days], next_cursor=None)
