"""Extraction: Enable Banking → `eb_*` tables, one account at a time, several accounts at once.

As for GoCardless (`src/ingest/extraction.py`): each account's read is its own unit of work, a refused scope is
not called again before its reset, and the bank's answers become per-account outcomes, never a failed run:
- ASPSP_RATE_LIMIT_EXCEEDED → `rate_limited`, the scope rests until the reset the answer gave (else one hour);
- EXPIRED/CLOSED/REVOKED_SESSION → the session is recorded as ended → `reauth_required` (the connection turns
  expired and offers re-authorising);
- an account the bank no longer knows → its access ended → `reauth_required`;
- anything else (bank errors, time-outs, 5xx after the client's retries) → `bank_error` with the bank's words.

The account reads go through the provider seam (`EnableBankingProvider`), whose typed outcomes are what this module
turns into per-account outcomes. PSU headers go only with a person's own Sync now (`psu`); scheduled runs send none
(src/providers/enablebanking/psu.py). The first read covers the bank's history (`DEFAULT_HISTORY_DAYS`; a bank
refusing that period names the one it allows and the client asks again with it); later reads start at the last
booked date less the overlap.
"""

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from src.db import unit_of_work
from src.ingest.enablebanking import raw
from src.ingest.extraction import ExtractResult, extract_each
from src.ingest.keys import ENABLEBANKING, assign_keys
from src.ingest.quota import ENABLEBANKING_POLICY
from src.models import EbAccount, EbSession, EbTransaction
from src.models.enums import EbSessionStatus, EbTransactionStatus, GcAccessState, GcScope, SyncOutcomeKind
from src.models.gocardless import rests_until
from src.providers.enablebanking import errors
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.psu import PsuContext
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless.models import DEFAULT_HISTORY_DAYS
from src.providers.seam import ConsentEnded, NotFound, Person, ProviderError, RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountTarget:
    uid: str
    connection_id: uuid.UUID
    session_id: str
    access_state: GcAccessState


def current_sessions(session: Session, connection_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """(connection, its newest session) for each connection that has one and Enable Banking has not ended."""
    newest = (
        select(EbSession.connection_id, EbSession.id, EbSession.ended_at)
        .where(EbSession.connection_id.in_(connection_ids))
        .distinct(EbSession.connection_id)
        .order_by(EbSession.connection_id, EbSession.first_seen_at.desc(), EbSession.id.desc())
        .subquery()
    )
    rows = session.execute(select(newest.c.connection_id, newest.c.id).where(newest.c.ended_at.is_(None))).all()
    return [(connection_id, session_id) for connection_id, session_id in rows]


def refresh_sessions(
    factory: sessionmaker[Session], client: EnableBankingClient, connection_ids: list[uuid.UUID]
) -> int:
    """Refresh each connection's current session (status, validity) from `GET /sessions/{id}`."""
    with factory() as session:
        pairs = current_sessions(session, connection_ids)
    refreshed = 0
    for connection_id, session_id in pairs:
        context = {"connection_id": str(connection_id), "session_id": session_id}
        try:
            found = client.get_session(session_id)
        except (errors.SessionEndedError, errors.ResourceNotFoundError) as exc:
            log.warning("session over at Enable Banking", extra={**context, "error": exc.error_code})
            with unit_of_work(factory) as session:
                raw.record_session_ended(session, session_id, exc.error_code or "SESSION_DOES_NOT_EXIST")
            continue
        except errors.EnableBankingError as exc:
            log.warning("session refresh failed", extra={**context, "error": type(exc).__name__})
            continue
        with unit_of_work(factory) as session:
            raw.store_session(
                session,
                connection_id=connection_id,
                session_id=session_id,
                status=found.status,
                valid_until=found.access.valid_until,
                payload=found.payload,
            )
        refreshed += 1
    return refreshed


def account_targets(session: Session, connection_ids: list[uuid.UUID]) -> list[AccountTarget]:
    """The accounts of each connection's current, authorised session."""
    sessions = dict(
        (session_id, connection_id) for connection_id, session_id in current_sessions(session, connection_ids)
    )
    if not sessions:
        return []
    rows = session.execute(
        select(EbAccount.uid, EbAccount.session_id, EbAccount.access_state)
        .join(EbSession, EbSession.id == EbAccount.session_id)
        .where(EbAccount.session_id.in_(list(sessions)), EbSession.status == EbSessionStatus.authorized)
        .order_by(EbAccount.uid)
    ).all()
    return [
        AccountTarget(
            uid=uid, connection_id=sessions[session_id], session_id=session_id, access_state=GcAccessState(state)
        )
        for uid, session_id, state in rows
    ]


def extract_scope(
    factory: sessionmaker[Session],
    client: EnableBankingClient,
    targets: list[AccountTarget],
    scope: GcScope,
    *,
    concurrency: int,
    overlap_days: int = 10,
    run_id: str | None = None,
    psu: PsuContext | None = None,
    planned: Mapping[str, frozenset[GcScope]] | None = None,
) -> list[ExtractResult]:
    """Read one scope for every target account, `concurrency` accounts at a time. `run_id` is recorded with each
    account's transactions outcome, so the run's outcome never reads an older run's."""
    provider = EnableBankingProvider(client)
    person = Person(ip_address=psu.ip_address, user_agent=psu.user_agent) if psu is not None else None
    fetchers: dict[GcScope, Callable[[Session, AccountTarget, datetime], None]] = {
        GcScope.details: lambda s, t, now: _read_details(s, provider, t, now, person),
        GcScope.balances: lambda s, t, now: _read_balances(s, provider, t, now, person),
        GcScope.transactions: lambda s, t, now: _read_transactions(s, provider, t, now, overlap_days, person),
    }
    fetch = fetchers[scope]
    return extract_each(
        factory,
        targets,
        scope,
        concurrency=concurrency,
        run_id=run_id,
        extract_one=lambda session, target, now: _extract_one(
            session, target, scope, now, fetch, attended=psu is not None
        ),
        record_fetch=raw.record_fetch,
        key_of=lambda target: target.uid,
        context_of=lambda target: {"connection_id": str(target.connection_id), "eb_account_uid": target.uid},
        thread_prefix="eb-extract",
        planned=planned,
    )


def _extract_one(
    session: Session,
    target: AccountTarget,
    scope: GcScope,
    now: datetime,
    fetch: Callable[[Session, AccountTarget, datetime], None],
    *,
    attended: bool,
) -> tuple[ExtractResult, datetime | None]:
    """(result, retry_at) for one account and scope; Enable Banking's refusals become outcomes, not exceptions. A
    scope the bank refused rests until its reset, except for a person's own read: banks do not count attended
    reads against the unattended allowance."""
    if target.access_state is not GcAccessState.ok:
        return ExtractResult(target.uid, SyncOutcomeKind.reauth_required, "access to this account has ended"), None
    reset_at = None if attended else raw.blocked_until(session, target.uid, scope, now)
    if reset_at is not None:
        message = f"no {scope} calls left until {reset_at.isoformat()}"
        return ExtractResult(target.uid, SyncOutcomeKind.rate_limited, message), reset_at
    try:
        fetch(session, target, now)
    except RateLimited as exc:
        retry_at = rests_until(exc.reset_at, now)
        raw.record_exhausted(session, target.uid, scope, retry_at, now)
        return ExtractResult(target.uid, SyncOutcomeKind.rate_limited, _describe(exc)), retry_at
    except ConsentEnded as exc:
        raw.record_session_ended(session, target.session_id, exc.code or "session ended")
        return ExtractResult(target.uid, SyncOutcomeKind.reauth_required, _describe(exc)), None
    except NotFound as exc:
        raw.record_access(session, target.uid, GcAccessState.expired, _describe(exc))
        return ExtractResult(target.uid, SyncOutcomeKind.reauth_required, _describe(exc)), None
    except ProviderError as exc:
        return ExtractResult(target.uid, SyncOutcomeKind.bank_error, _describe(exc)), None
    if not attended:
        raw.count_unattended_read(session, target.uid, scope, now, ENABLEBANKING_POLICY.daily_limit)
    return ExtractResult(target.uid, SyncOutcomeKind.synced), None


def _describe(exc: ProviderError) -> str:
    """The bank's own words (never a token: error bodies are Enable Banking's ErrorResponse)."""
    return str(exc) or type(exc).__name__


def _read_details(
    session: Session, provider: EnableBankingProvider, target: AccountTarget, now: datetime, person: Person | None
) -> None:
    raw.store_account_details(session, target.uid, provider.account_details(target.uid, person=person), now)
    raw.record_access(session, target.uid, GcAccessState.ok)


def _read_balances(
    session: Session, provider: EnableBankingProvider, target: AccountTarget, now: datetime, person: Person | None
) -> None:
    balances = provider.account_balances(target.uid, person=person)
    raw.store_balances(session, target.uid, {"balances": balances}, now)


def transactions_window_start(session: Session, uid: str, today: date, overlap_days: int) -> date:
    """The first read covers the history (`DEFAULT_HISTORY_DAYS`); later ones start at the last booked date of the
    unified account (any of its uids) minus the overlap, to catch late bookings and pending items that booked."""
    earliest = today - timedelta(days=DEFAULT_HISTORY_DAYS)
    owner = select(EbAccount.account_id).where(EbAccount.uid == uid).scalar_subquery()
    siblings = select(EbAccount.uid).where((EbAccount.uid == uid) | (EbAccount.account_id == owner))
    read_before = session.scalar(select(func.max(EbAccount.transactions_fetched_at)).where(EbAccount.uid.in_(siblings)))
    if read_before is None:
        return earliest
    last_booked = session.scalar(
        select(func.max(EbTransaction.payload["booking_date"].astext)).where(
            EbTransaction.eb_account_uid.in_(siblings), EbTransaction.status == EbTransactionStatus.booked
        )
    )
    if last_booked is None:
        return earliest
    return max(earliest, date.fromisoformat(str(last_booked)[:10]) - timedelta(days=overlap_days))


def _read_transactions(
    session: Session,
    provider: EnableBankingProvider,
    target: AccountTarget,
    now: datetime,
    overlap_days: int,
    person: Person | None,
) -> None:
    date_from = transactions_window_start(session, target.uid, now.date(), overlap_days)
    # No `date_to`: the bank answers up to its own present (see the GoCardless extraction), so the window is
    # recorded open-ended unless the bank itself named an end when it refused the period.
    read = provider.account_transactions(target.uid, date_from=date_from, person=person)
    items = [(str(t.get("status") or ""), t) for t in (*read.booked, *read.pending, *read.other)]
    keyed = assign_keys(items, raw.known_transactions(session, target.uid), ENABLEBANKING)
    # An incomplete read (a paging guard stopped it) covers no window: nothing may be voided from it.
    raw.store_transactions(
        session,
        target.uid,
        keyed,
        fetched_from=read.date_from if read.complete else None,
        fetched_to=read.date_to,
        fetched_at=now,
    )
