"""What a run did for each account (`sync_outcomes`), for the jobs API.

The outcome comes from how the account's last transactions fetch ended (raw state written by extraction:
synced, rate_limited with its retry time, reauth_required, bank_error with its message); the counts from the
sync. Re-running a run's sync overwrites its rows.
"""

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from src.ingest.transactions import SyncCounts

_RECORD = text(
    """
    INSERT INTO sync_outcomes (dagster_run_id, account_id, outcome, new_count, updated_count, retry_at, message)
    SELECT :run_id, a.id, coalesce(ga.fetch_outcome, 'synced'), :new, :updated,
           CASE WHEN ga.fetch_outcome = 'rate_limited' THEN ga.fetch_retry_at END,
           CASE WHEN coalesce(ga.fetch_outcome, 'synced') <> 'synced' THEN ga.fetch_message END
    FROM accounts a LEFT JOIN gc_accounts ga ON ga.id = a.provider_id
    WHERE a.id = :account_id
    ON CONFLICT (dagster_run_id, account_id) DO UPDATE SET
        outcome = EXCLUDED.outcome, new_count = EXCLUDED.new_count, updated_count = EXCLUDED.updated_count,
        retry_at = EXCLUDED.retry_at, message = EXCLUDED.message
    """
)

_TOUCH_CONNECTION = text(
    """
    UPDATE connections SET last_synced_at = now()
    WHERE id = (SELECT connection_id FROM accounts WHERE id = :account_id)
    """
)


def record_outcome(session: Session, run_id: str, account_id: uuid.UUID, counts: SyncCounts) -> None:
    session.execute(_RECORD, {"run_id": run_id, "account_id": account_id, "new": counts.new, "updated": counts.updated})
    session.execute(_TOUCH_CONNECTION, {"account_id": account_id})
