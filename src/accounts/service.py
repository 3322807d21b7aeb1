"""Accounts: reading a user's accounts and their balance history, and the user's own display settings.

Every lookup goes through the owner (accounts → connections.user_id): another user's account answers 404,
never 403, so ids reveal nothing. Only the display settings are writable here; everything else about an account
comes from the bank, through `src.ingest`.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from src import clock
from src.accounts.daily import MAX_DAYS, DailyBalance, daily_balances
from src.accounts.exceptions import AccountNotFoundError, InvalidDateRangeError
from src.accounts.schemas import AccountUpdate
from src.connections.exceptions import ConnectionNotFoundError
from src.kit.pagination import InvalidCursorError, decode_cursor, encode_cursor
from src.models import Account, BalanceSnapshot, Connection, User


def check_date_range(date_from: date | None, date_to: date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidDateRangeError("The start date is after the end date.")


@dataclass(frozen=True)
class BalancePage:
    items: list[BalanceSnapshot]
    next_cursor: str | None


def _owned(user: User) -> Select[tuple[Account]]:
    return select(Account).join(Connection, Connection.id == Account.connection_id).where(Connection.user_id == user.id)


class AccountService:
    def list(self, session: Session, user: User, *, connection_id: uuid.UUID | None = None) -> list[Account]:
        """The user's accounts, grouped by connection (newest connection first, as the connections list)."""
        statement = _owned(user).order_by(Connection.created_at.desc(), Connection.id, Account.created_at, Account.id)
        if connection_id is not None:
            owner = session.scalar(select(Connection.user_id).where(Connection.id == connection_id))
            if owner != user.id:
                raise ConnectionNotFoundError("There is no such connection.")
            statement = statement.where(Account.connection_id == connection_id)
        return list(session.scalars(statement))

    def get(self, session: Session, user: User, account_id: uuid.UUID) -> Account:
        account = session.scalar(_owned(user).where(Account.id == account_id))
        if account is None:
            raise AccountNotFoundError("There is no such account.")
        return account

    def update(self, session: Session, user: User, account_id: uuid.UUID, changes: AccountUpdate) -> Account:
        account = self.get(session, user, account_id)
        if "display_name" in changes.model_fields_set:
            account.display_name = changes.display_name
        if "hidden" in changes.model_fields_set and changes.hidden is not None:
            account.hidden = changes.hidden
        session.flush()
        return account

    def owned_ids(
        self, session: Session, user: User, account_ids: Collection[uuid.UUID] | None = None
    ) -> Sequence[uuid.UUID]:
        """The user's account ids; with `account_ids`, exactly those, and 404 if any of them is not the user's."""
        statement = (
            select(Account.id)
            .join(Connection, Connection.id == Account.connection_id)
            .where(Connection.user_id == user.id)
        )
        if account_ids is None:
            return list(session.scalars(statement))
        wanted = set(account_ids)
        found = set(session.scalars(statement.where(Account.id.in_(wanted)))) if wanted else set()
        if found != wanted:
            raise AccountNotFoundError("There is no such account.")
        return sorted(found)

    def balances(
        self,
        session: Session,
        user: User,
        account_id: uuid.UUID,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> BalancePage:
        """The daily snapshots in range, oldest first; a day without one is simply absent."""
        check_date_range(date_from, date_to)
        self.get(session, user, account_id)
        statement = select(BalanceSnapshot).where(BalanceSnapshot.account_id == account_id)
        if date_from is not None:
            statement = statement.where(BalanceSnapshot.as_of >= date_from)
        if date_to is not None:
            statement = statement.where(BalanceSnapshot.as_of <= date_to)
        if cursor is not None:
            statement = statement.where(BalanceSnapshot.as_of > _decode_day(cursor))
        rows = list(session.scalars(statement.order_by(BalanceSnapshot.as_of).limit(limit + 1)))
        if len(rows) <= limit:
            return BalancePage(rows, None)
        return BalancePage(rows[:limit], encode_cursor({"as_of": rows[limit - 1].as_of.isoformat()}))

    def daily_balances(
        self, session: Session, user: User, account_id: uuid.UUID, *, date_from: date | None, date_to: date | None
    ) -> Sequence[DailyBalance]:
        """Every day's balance, derived from the bank's latest booked balance and the booked transactions
        (`src/accounts/daily.py`), oldest first; empty when the bank has reported no booked balance yet. An asked
        range longer than `MAX_DAYS` days is refused (400) rather than cut where the caller cannot see it; an open
        one answers its newest `MAX_DAYS` days."""
        check_date_range(date_from, date_to)
        if date_from is not None and date_to is not None and (date_to - date_from).days >= MAX_DAYS:
            raise InvalidDateRangeError(f"Ask for at most {MAX_DAYS} days of daily balances at a time.")
        self.get(session, user, account_id)
        return daily_balances(session, account_id, today=clock.now().date(), date_from=date_from, date_to=date_to)


def _decode_day(cursor: str) -> date:
    value = decode_cursor(cursor).get("as_of")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidCursorError("This cursor is not valid; start again from the first page.")


account = AccountService()
