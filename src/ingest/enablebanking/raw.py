"""Writing what Enable Banking said into the `eb_*` tables, verbatim, as set-based upserts.

Every function here only executes statements on the caller's session; the caller's unit of work commits.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from src.ingest import raw_reads
from src.ingest.enablebanking.ids import aspsp_institution_id
from src.ingest.keys import KeyedItem, KeyIndex, KnownTransaction, clean_id
from src.models import (
    EbAccount,
    EbAccountLimit,
    EbAspsp,
    EbAspspList,
    EbAuthorization,
    EbBalance,
    EbSession,
    EbTransaction,
)
from src.models.enums import GcAccessState, GcScope
from src.providers.enablebanking.models import Account, Aspsp


def store_aspsp_list(session: Session, country: str, aspsps: Sequence[Aspsp]) -> list[str]:
    """A country's bank list, and the fact that it was fetched now; returns the institution ids stored."""
    rows = {
        aspsp_institution_id(a.name, a.country): {
            "id": aspsp_institution_id(a.name, a.country),
            "name": a.name,
            "country": a.country.upper(),
            "payload": a.payload,
        }
        for a in aspsps
    }
    if rows:
        statement = insert(EbAspsp).values(list(rows.values()))
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[EbAspsp.id],
                set_={"payload": statement.excluded.payload, "last_seen_at": func.now()},
            )
        )
    listed = insert(EbAspspList).values(country=country.upper(), fetched_at=func.now())
    session.execute(listed.on_conflict_do_update(index_elements=[EbAspspList.country], set_={"fetched_at": func.now()}))
    return list(rows)


def store_authorization(
    session: Session, *, authorization_id: str, connection_id: uuid.UUID, state: str, payload: dict[str, Any]
) -> None:
    session.execute(
        insert(EbAuthorization)
        .values(id=authorization_id, connection_id=connection_id, state=state, payload=payload)
        .on_conflict_do_nothing(index_elements=[EbAuthorization.id])
    )


def store_session(
    session: Session,
    *,
    connection_id: uuid.UUID,
    session_id: str,
    status: str,
    valid_until: datetime | None,
    payload: dict[str, Any],
    accounts: Sequence[Account] = (),
) -> None:
    """The session and one raw account row per account it lists (new uids get no unified account yet:
    `src.ingest.enablebanking.accounts` assigns it)."""
    statement = insert(EbSession).values(
        id=session_id, connection_id=connection_id, status=status, valid_until=valid_until, payload=payload
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[EbSession.id],
            set_={
                "status": statement.excluded.status,
                "valid_until": statement.excluded.valid_until,
                "payload": statement.excluded.payload,
                "last_seen_at": func.now(),
            },
        )
    )
    rows = [
        {"uid": a.uid, "session_id": session_id, "identification_hash": a.identification_hash, "payload": a.payload}
        for a in accounts
        if a.uid
    ]
    if rows:
        listed = insert(EbAccount).values(rows)
        session.execute(
            listed.on_conflict_do_update(
                index_elements=[EbAccount.uid],
                set_={"payload": listed.excluded.payload, "last_seen_at": func.now()},
            )
        )


def record_session_ended(session: Session, session_id: str, reason: str) -> None:
    """Enable Banking said the session is over (or finsync ended it): the connection needs a new consent."""
    session.execute(
        update(EbSession)
        .where(EbSession.id == session_id, EbSession.ended_at.is_(None))
        .values(ended_at=func.now(), ended_reason=reason)
    )


def store_account_details(session: Session, uid: str, details: dict[str, Any], read_at: datetime) -> None:
    session.execute(
        update(EbAccount)
        .where(EbAccount.uid == uid)
        .values(details_payload=details, details_fetched_at=read_at, last_seen_at=func.now())
    )


def store_balances(session: Session, uid: str, payload: dict[str, Any], fetched_at: datetime) -> None:
    session.execute(insert(EbBalance).values(eb_account_uid=uid, payload=payload, fetched_at=fetched_at))


def record_access(session: Session, uid: str, state: GcAccessState, message: str | None = None) -> None:
    raw_reads.record_access(session, EbAccount.uid, uid, state, message)


def record_fetch(
    session: Session,
    uid: str,
    *,
    outcome: str,
    run_id: str | None,
    message: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    raw_reads.record_fetch(
        session, EbAccount.uid, uid, outcome=outcome, run_id=run_id, message=message, retry_at=retry_at
    )


def record_exhausted(session: Session, uid: str, scope: GcScope, reset_at: datetime | None, now: datetime) -> None:
    """The bank refused the scope for today (ASPSP_RATE_LIMIT_EXCEEDED): no call until `reset_at`."""
    statement = insert(EbAccountLimit).values(
        eb_account_uid=uid, scope=scope, remaining=0, reset_at=reset_at, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[EbAccountLimit.eb_account_uid, EbAccountLimit.scope],
            set_={"remaining": 0, "reset_at": statement.excluded.reset_at, "updated_at": now},
        )
    )


def count_unattended_read(session: Session, uid: str, scope: GcScope, now: datetime, daily_limit: int) -> None:
    """One unattended read of the account's scope was answered: one call fewer until the allowance's reset, or a new
    allowance of `daily_limit` until the next UTC midnight when the last one has passed. Banks count unattended
    reads per calendar day; Enable Banking sends no header saying how many are left, so finsync counts."""
    midnight = datetime.combine(now.date(), time.min, tzinfo=UTC) + timedelta(days=1)
    statement = insert(EbAccountLimit).values(
        eb_account_uid=uid, scope=scope, limit=daily_limit, remaining=daily_limit - 1, reset_at=midnight, updated_at=now
    )
    lapsed = EbAccountLimit.reset_at.is_(None) | (EbAccountLimit.reset_at <= now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[EbAccountLimit.eb_account_uid, EbAccountLimit.scope],
            set_={
                "limit": statement.excluded.limit,
                "remaining": case(
                    (lapsed, statement.excluded.remaining), else_=func.greatest(0, EbAccountLimit.remaining - 1)
                ),
                "reset_at": case((lapsed, statement.excluded.reset_at), else_=EbAccountLimit.reset_at),
                "updated_at": now,
            },
        )
    )


def blocked_until(session: Session, uid: str, scope: GcScope, now: datetime) -> datetime | None:
    """When a refused scope may be called again, if that is still ahead; else None."""
    reset_at: datetime | None = session.scalar(
        select(EbAccountLimit.reset_at).where(
            EbAccountLimit.eb_account_uid == uid, EbAccountLimit.scope == scope, EbAccountLimit.remaining == 0
        )
    )
    return reset_at if reset_at is not None and reset_at > now else None


def known_transactions(session: Session, uid: str) -> KeyIndex:
    """The key index of the unified account behind `uid` (every uid it ever had, across sessions), or of this uid
    alone while it has no unified account yet."""
    owner = select(EbAccount.account_id).where(EbAccount.uid == uid).scalar_subquery()
    siblings = select(EbAccount.uid).where((EbAccount.uid == uid) | (EbAccount.account_id == owner))
    rows = session.execute(
        select(
            EbTransaction.transaction_key,
            EbTransaction.fingerprint,
            EbTransaction.payload["transaction_id"].astext,
            EbTransaction.payload["entry_reference"].astext,
        ).where(EbTransaction.eb_account_uid.in_(siblings))
    ).all()
    return KeyIndex.of(
        KnownTransaction(key=key, fingerprint=fp, transaction_id=clean_id(tid), entry_reference=clean_id(entry))
        for key, fp, tid, entry in rows
    )


def store_transactions(
    session: Session,
    uid: str,
    items: Sequence[KeyedItem],
    *,
    fetched_from: date | None,
    fetched_to: date | None,
    fetched_at: datetime,
) -> None:
    """Upsert the read's items by key (latest payload wins) and record the window it covered."""
    raw_reads.store_transactions_read(
        session,
        EbAccount.uid,
        EbTransaction.eb_account_uid,
        uid,
        items,
        fetched_from=fetched_from,
        fetched_to=fetched_to,
        fetched_at=fetched_at,
    )
