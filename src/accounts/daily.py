"""Daily balances derived from the bank's booked balance and the booked transactions: a chart from the first sync.

A bank reports one balance per read, so the reported snapshots (`balance_snapshots`) hold one day per sync; the
transactions of a first sync reach back months. The derived series fills every day in between with one rule, the
balance drift check's (`src/ingest/drift.py`) read the other way round: a booked balance reported for day D
already holds every booked transaction booked on or before D, so two booked balances differ by exactly the booked
transactions booked after the first day and up to the second.

The rule (docs/ARCHITECTURE.md, "Daily balances"):

- The anchor is the latest reported snapshot of a booked kind (`BOOKED_BALANCE_TYPES`: interim or closing booked;
  the day's snapshot is already the one the balance type priority of `src/ingest/balances.py` chose) in the
  account's currency. Without one there is no derived series: the answer is empty, never a guess.
- End-of-day balance of day D before the anchor's day = anchor amount − the sum of the booked transactions (not
  pending, not void) in the anchor's currency booked in (D, anchor day]. The anchor's own day is the anchor's
  amount. After the anchor, up to today (or the bank's later date: its day can be ahead of ours), the balance
  carries forward with the booked transactions added. A day without transactions carries the day before's.
- The series runs from the first booked transaction's day (or the anchor's day, if earlier) to the latest of the
  anchor's day, the last booked day and today; `from`/`to` clip it, and it keeps at most `MAX_DAYS` (the newest).
- A reported booked snapshot on a day is shown beside the derived value; a difference is drift (reported −
  derived), which says a transaction is missing, extra or changed in what the bank let us read.

All of it is one set-based statement: a generate_series of days left-joined to the daily booked sums, a window sum
over them, the anchor day's running sum subtracted; amounts stay NUMERIC end to end.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, Integer, Text

from src.ingest.balances import BALANCE_PRIORITY
from src.ingest.sql import text_with_enums

# The booked kinds, in the balance type priority's order: end-of-day (or so far today) balances of booked items
# only. `expected` and the available kinds include pending items or credit lines, `openingBooked` is the day
# before's: none of them can anchor a sum of booked transactions.
BOOKED_BALANCE_TYPES = tuple(kind for kind in BALANCE_PRIORITY if kind in {"interimBooked", "closingBooked"})

# About ten years of days in one answer (a bank gives at most two years of transactions; the cap keeps the
# statement's work bounded whatever range is asked).
MAX_DAYS = 3660

_DAILY = text_with_enums(
    """
    WITH anchor AS (
        SELECT s.as_of, s.amount, s.currency
        FROM balance_snapshots s JOIN accounts a ON a.id = s.account_id
        WHERE s.account_id = CAST(:account_id AS uuid) AND s.type = ANY(CAST(:booked_types AS text[]))
          AND s.currency = coalesce(upper(a.currency), s.currency)
        ORDER BY s.as_of DESC
        LIMIT 1
    ), booked AS (
        SELECT t.booking_date AS day, t.amount
        FROM transactions t JOIN anchor ON t.currency = anchor.currency
        WHERE t.account_id = CAST(:account_id AS uuid) AND t.status = :transaction_booked
    ), history AS (
        SELECT a.as_of AS anchor_day, a.amount AS anchor_amount, a.currency,
               least(min(b.day), a.as_of) AS first_day,
               greatest(max(b.day), a.as_of, CAST(:today AS date)) AS last_day
        FROM anchor a LEFT JOIN booked b ON true
        GROUP BY a.as_of, a.amount, a.currency
    ), answered AS (
        SELECT h.*, least(h.last_day, CAST(:date_to AS date)) AS end_day,
               greatest(h.first_day, CAST(:date_from AS date),
                        least(h.last_day, CAST(:date_to AS date)) - (CAST(:max_days AS integer) - 1)) AS start_day
        FROM history h
    ), walked AS (
        -- The days answered, and those between them and the anchor that the running sum must pass through.
        SELECT *, least(start_day, anchor_day) AS low, greatest(end_day, anchor_day) AS high
        FROM answered WHERE start_day <= end_day
    ), days AS (
        SELECT w.low + g AS day FROM walked w, generate_series(0, w.high - w.low) AS g
    ), per_day AS (
        SELECT b.day, sum(b.amount) AS booked
        FROM booked b JOIN walked w ON b.day BETWEEN w.low AND w.high
        GROUP BY b.day
    ), running AS (
        SELECT d.day, sum(coalesce(p.booked, 0)) OVER (ORDER BY d.day) AS booked_through
        FROM days d LEFT JOIN per_day p ON p.day = d.day
    ), derived AS (
        SELECT r.day, r.booked_through
                      - max(r.booked_through) FILTER (WHERE r.day = w.anchor_day) OVER () + w.anchor_amount AS amount,
               w.currency, w.start_day, w.end_day
        FROM running r CROSS JOIN walked w
    )
    -- On a day the bank reported the same amount, its own writing of it (the running sum's scale may be longer).
    SELECT d.day, CASE WHEN s.amount = d.amount THEN s.amount ELSE d.amount END, d.currency, s.amount AS reported
    FROM derived d
    LEFT JOIN balance_snapshots s
           ON s.account_id = CAST(:account_id AS uuid) AND s.as_of = d.day AND s.currency = d.currency
          AND s.type = ANY(CAST(:booked_types AS text[]))
    WHERE d.day BETWEEN d.start_day AND d.end_day
    ORDER BY d.day
    """
).bindparams(
    bindparam("account_id", type_=UUID(as_uuid=True)),
    bindparam("booked_types", type_=ARRAY(Text())),
    bindparam("today", type_=Date()),
    bindparam("date_from", type_=Date()),
    bindparam("date_to", type_=Date()),
    bindparam("max_days", type_=Integer()),
)


@dataclass(frozen=True)
class DailyBalance:
    """One day's end-of-day balance as the transactions tell it, and what the bank reported that day if anything."""

    day: date
    amount: Decimal
    currency: str
    reported: Decimal | None

    @property
    def derived(self) -> bool:
        """False when the bank reported this very amount for the day: the value is the bank's, not computed."""
        return self.reported is None or self.reported != self.amount

    @property
    def drift(self) -> Decimal | None:
        """Reported − derived when the two disagree; None when the bank reported nothing that day, or agrees."""
        if self.reported is None or self.reported == self.amount:
            return None
        return self.reported - self.amount


def daily_balances(
    session: Session, account_id: uuid.UUID, *, today: date, date_from: date | None, date_to: date | None
) -> list[DailyBalance]:
    """The account's derived daily balances, oldest first (the rule in this module's docstring); empty when the bank
    has reported no booked balance in the account's currency. The caller checks the owner and the range."""
    rows = session.execute(
        _DAILY,
        {
            "account_id": account_id,
            "booked_types": list(BOOKED_BALANCE_TYPES),
            "today": today,
            "date_from": date_from,
            "date_to": date_to,
            "max_days": MAX_DAYS,
        },
    ).all()
    return [DailyBalance(day, amount, currency, reported) for day, amount, currency, reported in rows]
