"""What every provider's extraction writes alike about a read, once: the account's access state, how its last
extraction ended, and a transactions read (its items upserted by key, and the window it covered).

Each provider's raw module (`src/ingest/raw.py`, `src/ingest/enablebanking/raw.py`) names its own tables and calls
these; like them, they only execute statements on the caller's session.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from src.ingest.keys import KeyedItem
from src.models.enums import GcAccessState


def record_access(
    session: Session, key: InstrumentedAttribute[str], value: str, state: GcAccessState, message: str | None
) -> None:
    """`key` is the raw account table's key column (GcAccount.id, EbAccount.uid); `value` the account's."""
    session.execute(
        update(key.class_)
        .where(key == value)
        .values(access_state=state, access_message=message, access_checked_at=func.now())
    )


def record_fetch(
    session: Session,
    key: InstrumentedAttribute[str],
    value: str,
    *,
    outcome: str,
    run_id: str | None,
    message: str | None,
    retry_at: datetime | None,
) -> None:
    """How the account's last extraction ended, tagged with its run: a run's outcome is its own fetch's only."""
    session.execute(
        update(key.class_)
        .where(key == value)
        .values(
            fetch_outcome=outcome,
            fetch_message=message,
            fetch_retry_at=retry_at,
            fetched_at=func.now(),
            fetch_run_id=run_id,
        )
    )


def store_transactions_read(
    session: Session,
    account_key: InstrumentedAttribute[str],
    transaction_account: InstrumentedAttribute[str],
    value: str,
    items: Sequence[KeyedItem],
    *,
    fetched_from: date | None,
    fetched_to: date | None,
    fetched_at: datetime,
) -> None:
    """Upsert one read's items by key (latest payload wins) into the raw transactions table of
    `transaction_account` (its account column), and record on the raw account the window the read covered."""
    if items:
        table = transaction_account.class_
        column = transaction_account.key
        rows: dict[str, dict[str, Any]] = {
            item.key: {
                column: value,
                "transaction_key": item.key,
                "status": item.status,
                "fingerprint": item.fingerprint,
                "payload": dict(item.payload),
                # Both ends on the read's clock, so "first reported after that one was last reported" compares
                # reads, not the database's transaction time with the extractor's.
                "first_seen_at": fetched_at,
                "last_seen_at": fetched_at,
            }
            for item in items
        }
        statement = insert(table).values(list(rows.values()))
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[column, "transaction_key"],
                set_={
                    "status": statement.excluded.status,
                    "fingerprint": statement.excluded.fingerprint,
                    "payload": statement.excluded.payload,
                    "last_seen_at": statement.excluded.last_seen_at,
                },
            )
        )
    session.execute(
        update(account_key.class_)
        .where(account_key == value)
        .values(
            transactions_fetched_from=fetched_from,
            transactions_fetched_to=fetched_to,
            transactions_fetched_at=fetched_at,
        )
    )
