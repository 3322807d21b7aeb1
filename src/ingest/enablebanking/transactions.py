"""Enable Banking's raw transactions as the shared derivation (`src/ingest/transactions.py`) reads them.

Normalisation from the verbatim payload:
- amount: `transaction_amount.amount` as a magnitude (some banks sign debits themselves), negative for
  `credit_debit_indicator` DBIT; currency upper-cased.
- status: BOOK → booked · PDNG, HOLD, SCHD → pending (void once a read covering its date no longer lists it) ·
  CNCL, RJCT → void (the bank cancelled or rejected it) · OTHR and unknown codes → booked when the item has a
  booking date, else pending.
- dates: booking date = booking_date, else value_date, else transaction_date; none → the day it was first read,
  flagged `date_is_estimated`.
- description: `remittance_information` joined with spaces, else `note`; whitespace collapsed.
- counterparty by sign: money out → the creditor, money in → the debtor; its account the IBAN (else `other`'s
  identification).
- ids kept side by side: `transaction_id`, `entry_reference` (no internal id at Enable Banking).
"""

from src.ingest.transactions import RawTransactionSource

ENABLEBANKING = RawTransactionSource(
    raw_accounts="eb_accounts",
    raw_account_key="uid",
    raw_transactions="eb_transactions",
    raw_account_column="eb_account_uid",
    still_pending="{status} IN (:eb_transaction_pending, :eb_transaction_hold, :eb_transaction_scheduled)",
    normalise=r"""
    dated AS (
        SELECT r.*,
               coalesce(left(p->>'booking_date', 10), left(p->>'value_date', 10),
                        left(p->>'transaction_date', 10))::date AS bank_booking_date,
               left(p->>'value_date', 10)::date AS value_date,
               CASE WHEN upper(p->>'credit_debit_indicator') = 'DBIT'
                    THEN -abs((p->'transaction_amount'->>'amount')::numeric)
                    ELSE abs((p->'transaction_amount'->>'amount')::numeric) END AS amount
        FROM candidates r
    ), normalised AS (
        SELECT d.transaction_key, d.fingerprint, d.source_hash,
               CASE
                   WHEN d.status IN (:eb_transaction_cancelled, :eb_transaction_rejected) THEN :transaction_void
                   WHEN d.status IN (:eb_transaction_pending, :eb_transaction_hold, :eb_transaction_scheduled)
                        OR (d.status <> :eb_transaction_booked AND d.p->>'booking_date' IS NULL)
                   THEN CASE
                       WHEN lf.fetched_at IS NOT NULL AND d.last_seen_at < lf.fetched_at
                            AND coalesce(d.value_date, d.bank_booking_date) >= lf.date_from
                            AND (lf.date_to IS NULL OR coalesce(d.value_date, d.bank_booking_date) <= lf.date_to)
                       THEN :transaction_void ELSE :transaction_pending END
                   ELSE :transaction_booked
               END AS status,
               nullif(btrim(d.p->>'transaction_id'), '') AS transaction_id,
               NULL::text AS internal_transaction_id,
               nullif(btrim(d.p->>'entry_reference'), '') AS entry_reference,
               coalesce(d.bank_booking_date, (d.first_seen_at AT TIME ZONE 'UTC')::date) AS booking_date,
               d.value_date,
               d.bank_booking_date IS NULL AS date_is_estimated,
               d.amount,
               upper(coalesce(d.p->'transaction_amount'->>'currency', '')) AS currency,
               nullif(regexp_replace(btrim(coalesce(
                   nullif((SELECT string_agg(part, ' ') FROM jsonb_array_elements_text(
                       CASE WHEN jsonb_typeof(d.p->'remittance_information') = 'array'
                            THEN d.p->'remittance_information' ELSE '[]'::jsonb END) AS part), ''),
                   d.p->>'note')), '\s+', ' ', 'g'), '') AS description,
               nullif(regexp_replace(btrim(CASE WHEN d.amount < 0
                   THEN d.p->'creditor'->>'name' ELSE d.p->'debtor'->>'name' END), '\s+', ' ', 'g'), '')
                   AS counterparty_name,
               nullif(CASE WHEN d.amount < 0
                   THEN coalesce(d.p->'creditor_account'->>'iban', d.p->'creditor_account'->'other'->>'identification')
                   ELSE coalesce(d.p->'debtor_account'->>'iban', d.p->'debtor_account'->'other'->>'identification')
                   END, '') AS counterparty_account
        FROM dated d LEFT JOIN latest_fetch lf ON true
        WHERE d.amount IS NOT NULL""",
)
