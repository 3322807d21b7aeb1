"""Writing what GoCardless said into the raw tables, verbatim, as set-based upserts.

Every function here only executes statements on the caller's session; the caller's unit of work commits.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from src.ingest import raw_reads
from src.ingest.keys import KeyedItem, KeyIndex, KnownTransaction, clean_id
from src.models import (
    GcAccount,
    GcAccountLimit,
    GcAgreement,
    GcBalance,
    GcInstitution,
    GcInstitutionList,
    GcRequisition,
    GcTransaction,
)
from src.models.enums import GcAccessState, GcScope
from src.providers.gocardless.models import Agreement, Institution, Requisition
from src.providers.gocardless.ratelimits import RateLimits


def store_institutions(session: Session, institutions: Sequence[Institution]) -> int:
    if not institutions:
        return 0
    statement = insert(GcInstitution).values([{"id": i.id, "payload": i.payload} for i in institutions])
    statement = statement.on_conflict_do_update(
        index_elements=[GcInstitution.id],
        set_={"payload": statement.excluded.payload, "last_seen_at": func.now()},
    )
    session.execute(statement)
    return len(institutions)


def store_institution_list(session: Session, country: str, institutions: Sequence[Institution]) -> None:
    """A country's whole list: its institutions, and the fact that this country's list was fetched now."""
    store_institutions(session, institutions)
    statement = insert(GcInstitutionList).values(country=country.upper(), fetched_at=func.now())
    session.execute(
        statement.on_conflict_do_update(index_elements=[GcInstitutionList.country], set_={"fetched_at": func.now()})
    )


def store_agreement(session: Session, agreement: Agreement, connection_id: uuid.UUID) -> None:
    statement = insert(GcAgreement).values(id=agreement.id, connection_id=connection_id, payload=agreement.payload)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[GcAgreement.id],
            set_={"payload": statement.excluded.payload, "last_seen_at": func.now()},
        )
    )


def store_requisition(session: Session, requisition: Requisition, connection_id: uuid.UUID) -> None:
    """Store the requisition and one raw account row per account id it lists (new ids get no unified account
    yet: `src.ingest.accounts` assigns it)."""
    statement = insert(GcRequisition).values(
        id=requisition.id,
        connection_id=connection_id,
        reference=requisition.reference or requisition.id,
        status=requisition.status,
        payload=requisition.payload,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[GcRequisition.id],
            set_={
                "status": statement.excluded.status,
                "payload": statement.excluded.payload,
                "last_seen_at": func.now(),
            },
        )
    )
    if requisition.accounts:
        accounts = insert(GcAccount).values([{"id": a, "requisition_id": requisition.id} for a in requisition.accounts])
        session.execute(
            accounts.on_conflict_do_update(index_elements=[GcAccount.id], set_={"last_seen_at": func.now()})
        )


def store_account_payloads(
    session: Session,
    gc_account_id: str,
    *,
    metadata: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    read_at: datetime | None = None,
) -> None:
    """The account's metadata and details as GoCardless sent them; `read_at`: when the details were read."""
    values: dict[str, Any] = {"last_seen_at": func.now()}
    if metadata is not None:
        values["metadata_payload"] = metadata
    if details is not None:
        values["details_payload"] = details
        values["details_fetched_at"] = read_at or func.now()
    session.execute(update(GcAccount).where(GcAccount.id == gc_account_id).values(**values))


def store_balances(session: Session, gc_account_id: str, payload: dict[str, Any], fetched_at: datetime) -> None:
    session.execute(insert(GcBalance).values(gc_account_id=gc_account_id, payload=payload, fetched_at=fetched_at))


def record_access(session: Session, gc_account_id: str, state: GcAccessState, message: str | None = None) -> None:
    raw_reads.record_access(session, GcAccount.id, gc_account_id, state, message)


def record_fetch(
    session: Session,
    gc_account_id: str,
    *,
    outcome: str,
    run_id: str | None,
    message: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    raw_reads.record_fetch(
        session, GcAccount.id, gc_account_id, outcome=outcome, run_id=run_id, message=message, retry_at=retry_at
    )


def record_requisition_gone(session: Session, requisition_id: str) -> None:
    """GoCardless answered 404 for the requisition: it was deleted there and its consent is over."""
    session.execute(
        update(GcRequisition)
        .where(GcRequisition.id == requisition_id, GcRequisition.gone_at.is_(None))
        .values(gone_at=func.now())
    )


def record_limits(
    session: Session, gc_account_id: str, scope: GcScope, limits: RateLimits | None, now: datetime
) -> None:
    """Keep the account's per-scope allowance from a response's headers (absent headers change nothing); `now` is
    when the call was made (the planner spreads the next calls from it)."""
    if limits is None or limits.account_remaining is None:
        return
    record_exhausted(
        session,
        gc_account_id,
        scope,
        remaining=limits.account_remaining,
        limit=limits.account_limit,
        reset_at=limits.account_reset_at,
        now=now,
    )


def record_exhausted(
    session: Session,
    gc_account_id: str,
    scope: GcScope,
    *,
    remaining: int,
    limit: int | None,
    reset_at: datetime | None,
    now: datetime,
) -> None:
    statement = insert(GcAccountLimit).values(
        gc_account_id=gc_account_id, scope=scope, limit=limit, remaining=remaining, reset_at=reset_at, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[GcAccountLimit.gc_account_id, GcAccountLimit.scope],
            set_={
                "limit": func.coalesce(statement.excluded.limit, GcAccountLimit.limit),
                "remaining": statement.excluded.remaining,
                "reset_at": statement.excluded.reset_at,
                "updated_at": now,
            },
        )
    )


def known_transactions(session: Session, gc_account_id: str) -> KeyIndex:
    """The key index of the unified account behind `gc_account_id` (all its GoCardless account ids), or of
    this GoCardless account alone while it has no unified account yet."""
    owner = select(GcAccount.account_id).where(GcAccount.id == gc_account_id).scalar_subquery()
    siblings = select(GcAccount.id).where((GcAccount.id == gc_account_id) | (GcAccount.account_id == owner))
    rows = session.execute(
        select(
            GcTransaction.transaction_key,
            GcTransaction.fingerprint,
            GcTransaction.payload["transactionId"].astext,
            GcTransaction.payload["internalTransactionId"].astext,
            GcTransaction.payload["entryReference"].astext,
        ).where(GcTransaction.gc_account_id.in_(siblings))
    ).all()
    return KeyIndex.of(
        KnownTransaction(
            key=key,
            fingerprint=fp,
            transaction_id=clean_id(tid),
            internal_transaction_id=clean_id(internal),
            entry_reference=clean_id(entry),
        )
        for key, fp, tid, internal, entry in rows
    )


def store_transactions(
    session: Session,
    gc_account_id: str,
    items: Sequence[KeyedItem],
    *,
    fetched_from: date,
    fetched_to: date | None,
    fetched_at: datetime,
) -> None:
    """Upsert the fetch's items by key (latest payload wins) and record the window the fetch covered: from the
    `date_from` asked, to the `date_to` asked, or open-ended (None) when none was asked and the bank answered up to
    its own present."""
    raw_reads.store_transactions_read(
        session,
        GcAccount.id,
        GcTransaction.gc_account_id,
        gc_account_id,
        items,
        fetched_from=fetched_from,
        fetched_to=fetched_to,
        fetched_at=fetched_at,
    )
