"""Balances: each account's current balance and one snapshot per account per day, from raw balance responses.

Banks send different subsets of balance types, so one type is chosen by this priority (the first present wins):
interimBooked, closingBooked, expected, interimAvailable, openingBooked, forwardAvailable, nonInvoiced, then any
other type alphabetically. Booked intraday balances come first because they are what the bank's own app calls
the balance; `expected` and the available ones include pending items or credit lines.
A snapshot's day is the balance's `referenceDate`, else the day it was fetched; the latest fetch of a day wins.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

BALANCE_PRIORITY = (
    "interimBooked",
    "closingBooked",
    "expected",
    "interimAvailable",
    "openingBooked",
    "forwardAvailable",
    "nonInvoiced",
)

_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))

_CHOSEN = """
    WITH fetched AS (
        SELECT ga.account_id, b.id AS balance_id, b.fetched_at, b.payload
        FROM gc_balances b JOIN gc_accounts ga ON ga.id = b.gc_account_id
        WHERE ga.account_id = ANY(:ids)
    ), entries AS (
        SELECT f.account_id, f.balance_id, f.fetched_at,
               e->>'balanceType' AS type,
               (e->'balanceAmount'->>'amount')::numeric AS amount,
               upper(e->'balanceAmount'->>'currency') AS currency,
               coalesce((e->>'referenceDate')::date, (f.fetched_at AT TIME ZONE 'UTC')::date) AS as_of,
               coalesce(array_position(CAST(:priority AS text[]), e->>'balanceType'), 1000) AS rank
        FROM fetched f, jsonb_array_elements(f.payload->'balances') AS e
        WHERE e->'balanceAmount'->>'amount' IS NOT NULL
    ), per_fetch AS (
        SELECT DISTINCT ON (balance_id) * FROM entries ORDER BY balance_id, rank, type
    )
"""

_SNAPSHOTS = text(
    _CHOSEN
    + """
    , per_day AS (
        SELECT DISTINCT ON (account_id, as_of) * FROM per_fetch
        ORDER BY account_id, as_of, fetched_at DESC, balance_id DESC
    )
    INSERT INTO balance_snapshots (account_id, as_of, type, amount, currency)
    SELECT account_id, as_of, type, amount, coalesce(currency, '') FROM per_day
    ON CONFLICT (account_id, as_of) DO UPDATE
    SET type = EXCLUDED.type, amount = EXCLUDED.amount, currency = EXCLUDED.currency, updated_at = now()
    WHERE (balance_snapshots.type, balance_snapshots.amount, balance_snapshots.currency)
          IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.amount, EXCLUDED.currency)
    """
).bindparams(_IDS)

_CURRENT = text(
    _CHOSEN
    + """
    , latest AS (
        SELECT DISTINCT ON (account_id) * FROM per_fetch ORDER BY account_id, fetched_at DESC, balance_id DESC
    )
    UPDATE accounts a
    SET balance_amount = l.amount, balance_currency = l.currency, balance_type = l.type,
        balance_as_of = l.fetched_at, updated_at = now()
    FROM latest l
    WHERE a.id = l.account_id
      AND (a.balance_amount, a.balance_currency, a.balance_type, a.balance_as_of)
          IS DISTINCT FROM (l.amount, l.currency, l.type, l.fetched_at)
    """
).bindparams(_IDS)


def derive_balances(session: Session, account_ids: Sequence[uuid.UUID]) -> None:
    if not account_ids:
        return
    params = {"ids": list(account_ids), "priority": list(BALANCE_PRIORITY)}
    session.execute(_SNAPSHOTS, params)
    session.execute(_CURRENT, params)
