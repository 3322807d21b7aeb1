"""Balances: each account's current balance and one snapshot per account per day, from raw balance responses.

Banks send different subsets of balance types, so one type is chosen by this priority (the first present wins):
interimBooked, closingBooked, expected, interimAvailable, openingBooked, forwardAvailable, nonInvoiced, then any
other type alphabetically. Booked intraday balances come first because they are what the bank's own app calls
the balance; `expected` and the available ones include pending items or credit lines.
A snapshot's day is the balance's `referenceDate`, else the day it was fetched; the latest fetch of a day wins.

Enable Banking reports the same balances under their ISO 20022 codes (`balance_type`: CLBD, ITBD, XPCD, …) in
`balance_amount` with a `reference_date`; each code is read as the GoCardless name it stands for
(`ENABLEBANKING_BALANCE_TYPES`), so one priority, one snapshot rule and one drift check serve both providers: the
statements read the balance entries of both raw tables (an account is fed by one provider only).
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

ENABLEBANKING_BALANCE_TYPES = {
    "ITBD": "interimBooked",
    "CLBD": "closingBooked",
    "XPCD": "expected",
    "ITAV": "interimAvailable",
    "OPBD": "openingBooked",
    "FWAV": "forwardAvailable",
    "CLAV": "closingAvailable",
    "OPAV": "openingAvailable",
    "PRCD": "previouslyClosedBooked",
    "INFO": "information",
}

_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))

_EB_TYPES = ", ".join(f"('{code}', '{name}')" for code, name in ENABLEBANKING_BALANCE_TYPES.items())

BALANCE_ENTRIES = f"""
    balance_entries AS (
        -- Every balance entry of the accounts `:ids`, both providers, in one shape: (account_id, balance_id,
        -- fetched_at, type, amount, currency, reference_date).
        SELECT ga.account_id, b.id AS balance_id, b.fetched_at, e->>'balanceType' AS type,
               (e->'balanceAmount'->>'amount')::numeric AS amount,
               upper(e->'balanceAmount'->>'currency') AS currency, (e->>'referenceDate')::date AS reference_date
        FROM gc_balances b JOIN gc_accounts ga ON ga.id = b.gc_account_id,
             jsonb_array_elements(b.payload->'balances') AS e
        WHERE ga.account_id = ANY(:ids) AND e->'balanceAmount'->>'amount' IS NOT NULL
        UNION ALL
        SELECT ea.account_id, b.id, b.fetched_at, coalesce(m.name, e->>'balance_type'),
               (e->'balance_amount'->>'amount')::numeric, upper(e->'balance_amount'->>'currency'),
               (e->>'reference_date')::date
        FROM eb_balances b JOIN eb_accounts ea ON ea.uid = b.eb_account_uid,
             jsonb_array_elements(b.payload->'balances') AS e
             LEFT JOIN (VALUES {_EB_TYPES}) AS m(code, name) ON m.code = e->>'balance_type'
        WHERE ea.account_id = ANY(:ids) AND e->'balance_amount'->>'amount' IS NOT NULL
    )"""

_CHOSEN = f"""
    WITH {BALANCE_ENTRIES.strip()}, entries AS (
        SELECT account_id, balance_id, fetched_at, type, amount, currency,
               coalesce(reference_date, (fetched_at AT TIME ZONE 'UTC')::date) AS as_of,
               coalesce(array_position(CAST(:priority AS text[]), type), 1000) AS rank
        FROM balance_entries
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
