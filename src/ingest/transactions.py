"""Unified transactions from raw ones: one set-based upsert per account, then pending items resolved.

Normalisation (all in SQL, from the verbatim payload):
- amount: the signed decimal string as NUMERIC, exactly; currency upper-cased.
- dates: booking date = bookingDate, else valueDate, else the date parts of bookingDateTime/valueDateTime; an
  item with no date at all keeps the day it was first extracted and is flagged `date_is_estimated`.
- description: remittanceInformationUnstructured, the unstructured array joined with spaces, the structured
  remittance and additionalInformation, whitespace collapsed.
- counterparty by sign: money out → the creditor (ultimateCreditor preferred), money in → the debtor
  (ultimateDebtor preferred); its account is the IBAN (else BBAN, masked PAN).

Re-syncing: each unified row keeps `source_hash`, a digest of the raw row it was derived from (payload, status,
fingerprint, first-seen time); a raw row whose digest matches is not parsed again, so re-syncing unchanged data is
cheap, while a deleted unified row, or one whose raw row changed, is derived afresh. (A release that changes
these rules clears `source_hash` in its migration, so the next sync re-derives every row.)

Pending items:
- a pending item absent from a later fetch whose window covered its date becomes `void` (kept, hidden by
  default). A window is what was asked and answered: from its `date_from` to its `date_to`, or open-ended when no
  `date_to` was sent (the bank then answers up to its own date, which may be ahead of ours);
- a booked item that matches a no-longer-reported pending one (same account, amount and currency, value dates at
  most a day apart, booked on or after the pending date, same counterparty when both have one, and first reported
  only after the pending one was last reported: a booked twin the bank listed beside the pending item is not its
  successor) links it through
  `booked_as_id`; the pending row then stays `pending` but leaves the pending set. Never a duplicate, never a
  silent delete.
"""

import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import TextClause
from sqlalchemy.orm import Session

from src.ingest.sql import text_with_enums


@dataclass(frozen=True)
class RawTransactionSource:
    """One provider's raw transactions, as the shared derivation reads them.

    The statements below are the same for every provider: which raw rows belong to a unified account (every raw
    account of the provider that feeds it), which were already derived, the upsert, the void rule and the pending
    links. What differs is named here: the raw tables, which raw statuses are still pending at the bank, and the
    `dated` and `normalised` CTEs that read the provider's payload (`p`) into the unified columns.
    """

    raw_accounts: str  # gc_accounts
    raw_account_key: str  # its key column: id
    raw_transactions: str  # gc_transactions
    raw_account_column: str  # the raw transaction's account column: gc_account_id
    still_pending: str  # SQL true for a raw status (`{status}`) that is pending at the bank
    normalise: str  # "dated AS (…), normalised AS (…)" reading candidates `r` into unified columns

    def pending_on(self, alias: str) -> str:
        return self.still_pending.format(status=f"{alias}.status")


@cache
def _upsert_statement(source: RawTransactionSource) -> TextClause:
    return text_with_enums(
        rf"""
    WITH latest_fetch AS (
        SELECT transactions_fetched_at AS fetched_at, transactions_fetched_from AS date_from,
               transactions_fetched_to AS date_to
        FROM {source.raw_accounts} WHERE account_id = :account_id AND transactions_fetched_at IS NOT NULL
        ORDER BY transactions_fetched_at DESC LIMIT 1
    ), raw_items AS (
        SELECT DISTINCT ON (rt.transaction_key)
               rt.transaction_key, rt.status, rt.fingerprint, rt.payload AS p, rt.first_seen_at, rt.last_seen_at,
               md5(rt.status || rt.fingerprint || rt.first_seen_at::text || rt.payload::text) AS source_hash
        FROM {source.raw_transactions} rt
        JOIN {source.raw_accounts} ra ON ra.{source.raw_account_key} = rt.{source.raw_account_column}
        WHERE ra.account_id = :account_id
        ORDER BY rt.transaction_key, rt.last_seen_at DESC, rt.{source.raw_account_column}
    ), candidates AS (
        -- Raw rows already derived from exactly this input are skipped before any parsing; pending ones are
        -- always looked at again, because whether they are void depends on the latest fetch, not on them.
        SELECT r.* FROM raw_items r
        LEFT JOIN transactions cur ON cur.account_id = :account_id AND cur.transaction_key = r.transaction_key
        WHERE cur.id IS NULL OR cur.source_hash IS DISTINCT FROM r.source_hash OR {source.pending_on("r")}
    ), {source.normalise.strip()}
    ), changed AS (
        -- Only rows that are new or differ reach the upsert: an unchanged row is neither locked nor rewritten,
        -- which keeps a re-sync of unchanged data cheap.
        SELECT n.* FROM normalised n
        LEFT JOIN transactions cur ON cur.account_id = :account_id AND cur.transaction_key = n.transaction_key
        WHERE cur.id IS NULL
           OR (cur.source_hash, cur.transaction_id, cur.internal_transaction_id, cur.entry_reference, cur.fingerprint,
               CASE WHEN cur.booked_as_id IS NOT NULL THEN cur.status ELSE n.status END,
               cur.booking_date, cur.value_date, cur.date_is_estimated, cur.amount, cur.currency, cur.description,
               cur.counterparty_name, cur.counterparty_account)
              IS DISTINCT FROM
              (n.source_hash, n.transaction_id, n.internal_transaction_id, n.entry_reference, n.fingerprint,
               cur.status,
               n.booking_date, n.value_date, n.date_is_estimated, n.amount, n.currency, n.description,
               n.counterparty_name, n.counterparty_account)
    )
    INSERT INTO transactions AS t (
        account_id, transaction_key, transaction_id, internal_transaction_id, entry_reference, fingerprint, status,
        booking_date, value_date, date_is_estimated, amount, currency, description, counterparty_name,
        counterparty_account, source_hash)
    SELECT :account_id, transaction_key, transaction_id, internal_transaction_id, entry_reference, fingerprint,
           status, booking_date, value_date, date_is_estimated, amount, currency, description, counterparty_name,
           counterparty_account, source_hash
    FROM changed
    ON CONFLICT (account_id, transaction_key) DO UPDATE SET
        transaction_id = EXCLUDED.transaction_id,
        internal_transaction_id = EXCLUDED.internal_transaction_id,
        entry_reference = EXCLUDED.entry_reference,
        fingerprint = EXCLUDED.fingerprint,
        -- a pending row already linked to its booked successor keeps its status
        status = CASE WHEN t.booked_as_id IS NOT NULL THEN t.status ELSE EXCLUDED.status END,
        booking_date = EXCLUDED.booking_date,
        value_date = EXCLUDED.value_date,
        date_is_estimated = EXCLUDED.date_is_estimated,
        amount = EXCLUDED.amount,
        currency = EXCLUDED.currency,
        description = EXCLUDED.description,
        counterparty_name = EXCLUDED.counterparty_name,
        counterparty_account = EXCLUDED.counterparty_account,
        source_hash = EXCLUDED.source_hash,
        updated_at = now()
    WHERE (t.source_hash, t.transaction_id, t.internal_transaction_id, t.entry_reference, t.fingerprint,
           CASE WHEN t.booked_as_id IS NOT NULL THEN t.status ELSE EXCLUDED.status END,
           t.booking_date, t.value_date, t.date_is_estimated, t.amount, t.currency, t.description,
           t.counterparty_name, t.counterparty_account)
        IS DISTINCT FROM
          (EXCLUDED.source_hash, EXCLUDED.transaction_id, EXCLUDED.internal_transaction_id,
           EXCLUDED.entry_reference, EXCLUDED.fingerprint,
           t.status, EXCLUDED.booking_date, EXCLUDED.value_date, EXCLUDED.date_is_estimated, EXCLUDED.amount,
           EXCLUDED.currency, EXCLUDED.description, EXCLUDED.counterparty_name, EXCLUDED.counterparty_account)
    RETURNING (xmax = 0) AS inserted
    """
    )


# Mutual best matches between no-longer-reported pending rows and booked rows nobody links yet; repeated until
# nothing changes, so that several pending items of one amount pair off one by one.
@cache
def _link_pending_statement(source: RawTransactionSource) -> TextClause:
    return text_with_enums(
        LINK_PENDING_SQL.format(
            raw_transactions=source.raw_transactions,
            raw_accounts=source.raw_accounts,
            raw_account_key=source.raw_account_key,
            raw_account_column=source.raw_account_column,
            still_pending_rp=source.pending_on("rp"),
        )
    )


LINK_PENDING_SQL = """
    WITH candidates AS (
        SELECT p.id AS pending_id, b.id AS booked_id,
               abs(coalesce(b.value_date, b.booking_date) - coalesce(p.value_date, p.booking_date)) AS distance
        FROM transactions p
        JOIN transactions b
          ON b.account_id = p.account_id AND b.status = :transaction_booked
         AND b.amount = p.amount AND b.currency = p.currency
         AND b.booking_date >= coalesce(p.value_date, p.booking_date)
         AND abs(coalesce(b.value_date, b.booking_date) - coalesce(p.value_date, p.booking_date)) <= 1
         AND (p.counterparty_name IS NULL OR b.counterparty_name IS NULL
              OR lower(p.counterparty_name) = lower(b.counterparty_name))
        WHERE p.account_id = :account_id AND p.status = :transaction_void AND p.booked_as_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM transactions x WHERE x.booked_as_id = b.id)
          -- A booked item the bank reported while it still reported the pending one is its twin, not its
          -- successor: the successor first appears after the pending item was last seen.
          AND (SELECT min(rb.first_seen_at) FROM {raw_transactions} rb JOIN {raw_accounts} ra
                 ON ra.{raw_account_key} = rb.{raw_account_column}
               WHERE ra.account_id = :account_id AND rb.transaction_key = b.transaction_key)
              > (SELECT max(rp.last_seen_at) FROM {raw_transactions} rp JOIN {raw_accounts} ra
                   ON ra.{raw_account_key} = rp.{raw_account_column}
                 WHERE ra.account_id = :account_id AND rp.transaction_key = p.transaction_key
                   -- only an item the bank reported as pending has a successor (a cancelled one has none)
                   AND {still_pending_rp})
    ), ranked AS (
        SELECT *,
               row_number() OVER (PARTITION BY pending_id ORDER BY distance, booked_id) AS pending_rank,
               row_number() OVER (PARTITION BY booked_id ORDER BY distance, pending_id) AS booked_rank
        FROM candidates
    )
    UPDATE transactions p SET booked_as_id = r.booked_id, status = :transaction_pending, updated_at = now()
    FROM ranked r
    WHERE p.id = r.pending_id AND r.pending_rank = 1 AND r.booked_rank = 1
    """

GOCARDLESS = RawTransactionSource(
    raw_accounts="gc_accounts",
    raw_account_key="id",
    raw_transactions="gc_transactions",
    raw_account_column="gc_account_id",
    still_pending="{status} = :gc_transaction_pending",
    normalise=r"""
dated AS (
        SELECT r.*,
               coalesce(left(p->>'bookingDate', 10), left(p->>'valueDate', 10),
                        left(p->>'bookingDateTime', 10), left(p->>'valueDateTime', 10))::date AS bank_booking_date,
               coalesce(left(p->>'valueDate', 10), left(p->>'valueDateTime', 10))::date AS value_date,
               (p->'transactionAmount'->>'amount')::numeric AS amount
        FROM candidates r
    ), normalised AS (
        SELECT d.transaction_key, d.fingerprint, d.source_hash,
               CASE
                   WHEN d.status = :gc_transaction_pending
                        AND lf.fetched_at IS NOT NULL AND d.last_seen_at < lf.fetched_at
                        AND coalesce(d.value_date, d.bank_booking_date) >= lf.date_from
                        AND (lf.date_to IS NULL OR coalesce(d.value_date, d.bank_booking_date) <= lf.date_to)
                   THEN :transaction_void ELSE d.status
               END AS status,
               nullif(btrim(d.p->>'transactionId'), '') AS transaction_id,
               nullif(btrim(d.p->>'internalTransactionId'), '') AS internal_transaction_id,
               nullif(btrim(d.p->>'entryReference'), '') AS entry_reference,
               coalesce(d.bank_booking_date, (d.first_seen_at AT TIME ZONE 'UTC')::date) AS booking_date,
               d.value_date,
               d.bank_booking_date IS NULL AS date_is_estimated,
               d.amount,
               upper(coalesce(d.p->'transactionAmount'->>'currency', '')) AS currency,
               nullif(regexp_replace(btrim(concat_ws(' ',
                   d.p->>'remittanceInformationUnstructured',
                   (SELECT string_agg(part, ' ') FROM jsonb_array_elements_text(
                       CASE WHEN jsonb_typeof(d.p->'remittanceInformationUnstructuredArray') = 'array'
                            THEN d.p->'remittanceInformationUnstructuredArray' ELSE '[]'::jsonb END) AS part),
                   CASE WHEN jsonb_typeof(d.p->'remittanceInformationStructured') = 'string'
                        THEN d.p->>'remittanceInformationStructured' END,
                   d.p->>'additionalInformation')), '\s+', ' ', 'g'), '') AS description,
               nullif(regexp_replace(btrim(CASE WHEN d.amount < 0
                   THEN coalesce(nullif(d.p->>'ultimateCreditor', ''), d.p->>'creditorName')
                   ELSE coalesce(nullif(d.p->>'ultimateDebtor', ''), d.p->>'debtorName') END), '\s+', ' ', 'g'), '')
                   AS counterparty_name,
               nullif(CASE WHEN d.amount < 0
                   THEN coalesce(d.p->'creditorAccount'->>'iban', d.p->'creditorAccount'->>'bban',
                                 d.p->'creditorAccount'->>'maskedPan')
                   ELSE coalesce(d.p->'debtorAccount'->>'iban', d.p->'debtorAccount'->>'bban',
                                 d.p->'debtorAccount'->>'maskedPan') END, '') AS counterparty_account
        FROM dated d LEFT JOIN latest_fetch lf ON true
        WHERE d.amount IS NOT NULL""",
)


@dataclass(frozen=True)
class SyncCounts:
    new: int
    updated: int


def sync_account_transactions(
    session: Session, account_id: uuid.UUID, source: RawTransactionSource = GOCARDLESS
) -> SyncCounts:
    """Upsert one account's transactions from its provider's raw rows and resolve its pending items. Running it
    twice in a row changes nothing the second time."""
    inserted = [row[0] for row in session.execute(_upsert_statement(source), {"account_id": account_id})]
    link = _link_pending_statement(source)
    for _ in range(50):
        if not session.execute(link, {"account_id": account_id}).rowcount:  # type: ignore[attr-defined]
            break
    new = sum(1 for flag in inserted if flag)
    return SyncCounts(new=new, updated=len(inserted) - new)
