"""What a run did for each account (`sync_outcomes`), for the jobs API.

The outcome comes from how this run's transactions fetch of the account ended (raw state written by extraction,
tagged with the run: synced, rate_limited with its retry time, reauth_required, bank_error with its message); the
counts from the sync. An account this run did not fetch because its connection's consent is over (expired,
refused, suspended, the requisition deleted at GoCardless) is `reauth_required` with a message saying so; one not
fetched for another reason (a sync-only re-run) gets no outcome: it made no bank call and did not sync. An older
run's fetch never speaks for this run. Re-running a run's sync overwrites its rows.
"""

import uuid

from sqlalchemy.orm import Session

from src.ingest.sql import text_with_enums
from src.ingest.transactions import SyncCounts

_RECORD = text_with_enums(
    """
    WITH run AS (SELECT CAST(:run_id AS varchar) AS id), account AS (
        SELECT a.id, c.status AS connection_status, f.fetch_outcome, f.fetch_message, f.fetch_retry_at,
               f.fetch_run_id IS NOT DISTINCT FROM run.id AS fetched
        FROM accounts a
        JOIN connections c ON c.id = a.connection_id
        CROSS JOIN run
        LEFT JOIN LATERAL (
            -- the raw account currently serving it, at its provider
            SELECT fetch_outcome, fetch_message, fetch_retry_at, fetch_run_id FROM gc_accounts
            WHERE a.provider = :provider_gocardless AND id = a.provider_id
            UNION ALL
            SELECT fetch_outcome, fetch_message, fetch_retry_at, fetch_run_id FROM eb_accounts
            WHERE a.provider = :provider_enablebanking AND uid = a.provider_id
        ) f ON true
        WHERE a.id = :account_id
    )
    INSERT INTO sync_outcomes (dagster_run_id, account_id, outcome, new_count, updated_count, retry_at, message)
    SELECT run.id, x.id,
           CASE WHEN x.fetched THEN coalesce(x.fetch_outcome, :outcome_synced) ELSE :outcome_reauth_required END,
           :new, :updated,
           CASE WHEN x.fetched AND x.fetch_outcome = :outcome_rate_limited THEN x.fetch_retry_at END,
           CASE
               WHEN x.fetched
                   THEN CASE WHEN coalesce(x.fetch_outcome, :outcome_synced) <> :outcome_synced THEN x.fetch_message END
               WHEN x.connection_status = :connection_expired
                   THEN 'The consent for this connection has ended; re-authorise it to sync again.'
               WHEN x.connection_status = :connection_rejected
                   THEN 'The consent for this connection was refused at the bank; re-authorise it to sync again.'
               WHEN x.connection_status = :connection_suspended
                   THEN 'The bank has suspended access to this connection; re-authorise it to sync again.'
               WHEN x.connection_status = :connection_pending
                   THEN 'This connection is still waiting for the bank''s consent.'
               ELSE 'The bank reported a problem with this connection; re-authorise it to sync again.'
           END
    FROM account x CROSS JOIN run
    WHERE x.fetched OR x.connection_status <> :connection_active
    ON CONFLICT (dagster_run_id, account_id) DO UPDATE SET
        outcome = EXCLUDED.outcome, new_count = EXCLUDED.new_count, updated_count = EXCLUDED.updated_count,
        retry_at = EXCLUDED.retry_at, message = EXCLUDED.message
    """
)

# "Last synced" moves only when this run really fetched the account from the bank and it synced.
_TOUCH_CONNECTION = text_with_enums(
    """
    UPDATE connections SET last_synced_at = now()
    WHERE id = (SELECT a.connection_id FROM accounts a
                JOIN sync_outcomes o
                  ON o.account_id = a.id AND o.dagster_run_id = :run_id AND o.outcome = :outcome_synced
                WHERE a.id = :account_id)
    """
)


def record_outcome(session: Session, run_id: str, account_id: uuid.UUID, counts: SyncCounts) -> None:
    session.execute(_RECORD, {"run_id": run_id, "account_id": account_id, "new": counts.new, "updated": counts.updated})
    session.execute(_TOUCH_CONNECTION, {"run_id": run_id, "account_id": account_id})
