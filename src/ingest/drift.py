"""Balance drift: between two syncs of an account, the change of its closing booked balance must equal the sum of
the booked transactions dated between the two balances' reference dates. A difference means a transaction is
missing (or extra) in what the bank lets us read."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from src.ingest.balances import BALANCE_ENTRIES
from src.ingest.sql import text_with_enums

_DRIFT = text_with_enums(
    f"""
    WITH {BALANCE_ENTRIES.strip()}, closing AS (
        SELECT account_id, reference_date AS as_of, amount, fetched_at FROM balance_entries
        WHERE type = 'closingBooked' AND reference_date IS NOT NULL
    ), per_day AS (
        SELECT DISTINCT ON (account_id, as_of) * FROM closing ORDER BY account_id, as_of, fetched_at DESC
    ), ranked AS (
        SELECT *, row_number() OVER (PARTITION BY account_id ORDER BY as_of DESC) AS n FROM per_day
    )
    SELECT newer.account_id, older.as_of, newer.as_of, newer.amount - older.amount AS balance_change,
           coalesce((SELECT sum(t.amount) FROM transactions t
                     WHERE t.account_id = newer.account_id AND t.status = :transaction_booked
                       AND t.booking_date > older.as_of AND t.booking_date <= newer.as_of), 0) AS booked_sum
    FROM ranked newer JOIN ranked older ON older.account_id = newer.account_id AND older.n = 2
    WHERE newer.n = 1
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


@dataclass(frozen=True)
class Drift:
    account_id: uuid.UUID
    date_from: date
    date_to: date
    balance_change: Decimal
    booked_sum: Decimal

    @property
    def difference(self) -> Decimal:
        return self.balance_change - self.booked_sum


def balance_drifts(session: Session, account_ids: list[uuid.UUID]) -> list[Drift]:
    """Accounts whose last two closing balances disagree with their booked transactions (empty: all agree)."""
    if not account_ids:
        return []
    rows = session.execute(_DRIFT, {"ids": account_ids}).all()
    drifts = [Drift(*row) for row in rows]
    return [drift for drift in drifts if drift.difference != 0]
