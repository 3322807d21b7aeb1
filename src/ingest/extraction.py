"""Extraction: GoCardless → raw tables, one account at a time, several accounts at once.

Each account's fetch is its own unit of work (a failure leaves the others' raw rows committed). Rate limits are
respected before calling: a scope whose remaining count is zero before its reset is not called at all; a 429
records the reset and the run goes on with the other accounts. Expired access and suspension are states written
to the raw tables, not failures of the run.
"""

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from src import clock
from src.db import unit_of_work
from src.ingest import raw
from src.ingest.keys import assign_keys
from src.models import Connection, GcAccount, GcAccountLimit, GcAgreement, GcRequisition, GcTransaction
from src.models.enums import GcAccessState, GcRequisitionStatus, GcScope, GcTransactionStatus, SyncOutcomeKind
from src.models.gocardless import calls_back_at, rests_until
from src.providers.gocardless import errors
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.models import DEFAULT_HISTORY_DAYS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountTarget:
    gc_account_id: str
    connection_id: uuid.UUID
    access_state: GcAccessState


@dataclass(frozen=True)
class ExtractResult:
    gc_account_id: str
    outcome: SyncOutcomeKind | None  # None: the scope was not due (skipped without a call)
    message: str | None = None


def connection_ids_in_scope(session: Session, connection_id: str | None, provider: str) -> list[uuid.UUID]:
    """The connections of `provider` a run touches: the one named (which must exist and be that provider's), or
    every connection of the provider."""
    if connection_id is None:
        return list(
            session.scalars(
                select(Connection.id).where(Connection.provider == provider).order_by(Connection.created_at)
            )
        )
    try:
        wanted = uuid.UUID(connection_id)
    except ValueError as exc:
        raise ValueError(f"connection_id {connection_id!r} is not a UUID") from exc
    found = session.get(Connection, wanted)
    if found is None:
        raise LookupError(f"connection {connection_id} does not exist")
    if found.provider != provider:
        raise ValueError(f"connection {connection_id} is a {found.provider} connection, not a {provider} one")
    return [wanted]


def extract_requisitions(
    factory: sessionmaker[Session], client: GoCardlessClient, connection_ids: list[uuid.UUID]
) -> int:
    """Refresh the status of each connection's current requisition (and its agreement)."""
    with factory() as session:
        pairs = session.execute(
            select(Connection.id, Connection.requisition_id).where(
                Connection.id.in_(connection_ids), Connection.requisition_id.is_not(None)
            )
        ).all()
    refreshed = 0
    for connection_id, requisition_id in pairs:
        try:
            requisition = client.get_requisition(str(requisition_id))
            agreement = client.get_agreement(requisition.agreement) if requisition.agreement else None
        except errors.ResourceNotFoundError:
            log.warning("requisition gone at GoCardless", extra={"connection_id": str(connection_id)})
            with unit_of_work(factory) as session:
                raw.record_requisition_gone(session, str(requisition_id))
            continue
        except errors.GoCardlessError as exc:
            log.warning("requisition refresh failed", extra={"connection_id": str(connection_id), "error": str(exc)})
            continue
        with unit_of_work(factory) as session:
            if agreement is not None:
                raw.store_agreement(session, agreement, connection_id)
            raw.store_requisition(session, requisition, connection_id)
        refreshed += 1
    return refreshed


def account_targets(session: Session, connection_ids: list[uuid.UUID]) -> list[AccountTarget]:
    """The GoCardless accounts of each connection's current, linked requisition (not one deleted at GoCardless)."""
    rows = session.execute(
        select(GcAccount.id, Connection.id, GcAccount.access_state)
        .join(GcRequisition, GcRequisition.id == GcAccount.requisition_id)
        .join(
            Connection,
            and_(Connection.id == GcRequisition.connection_id, Connection.requisition_id == GcRequisition.id),
        )
        .where(
            Connection.id.in_(connection_ids),
            GcRequisition.status == GcRequisitionStatus.linked,
            GcRequisition.gone_at.is_(None),
        )
        .order_by(GcAccount.id)
    ).all()
    return [AccountTarget(gc_account_id=a, connection_id=c, access_state=GcAccessState(s)) for a, c, s in rows]


def _limit_blocks(session: Session, gc_account_id: str, scope: GcScope, now: datetime) -> datetime | None:
    """When the scope may be called again, if that is still ahead; else None (`calls_back_at`)."""
    back: datetime | None = session.scalar(
        select(calls_back_at()).where(GcAccountLimit.gc_account_id == gc_account_id, GcAccountLimit.scope == scope)
    )
    return back if back is not None and back > now else None


def _handle_error(
    session: Session, target: AccountTarget, scope: GcScope, exc: errors.GoCardlessError, now: datetime
) -> ExtractResult:
    account = target.gc_account_id
    if isinstance(exc, errors.RateLimitExceededError):
        if exc.scope != "general":
            reset_at = _reset_of(exc, now)
            raw.record_exhausted(session, account, scope, remaining=0, limit=None, reset_at=reset_at, now=now)
        return ExtractResult(account, SyncOutcomeKind.rate_limited, _describe(exc))
    if isinstance(exc, errors.AccessExpiredError):
        raw.record_access(session, account, GcAccessState.expired, _describe(exc))
        return ExtractResult(account, SyncOutcomeKind.reauth_required, _describe(exc))
    if isinstance(exc, errors.AccountSuspendedError):
        raw.record_access(session, account, GcAccessState.suspended, _describe(exc))
        return ExtractResult(account, SyncOutcomeKind.reauth_required, _describe(exc))
    return ExtractResult(account, SyncOutcomeKind.bank_error, _describe(exc))


def _describe(exc: errors.GoCardlessError) -> str:
    return exc.detail or exc.summary or str(exc)


def _reset_of(exc: errors.GoCardlessError, now: datetime) -> datetime | None:
    """When a rate-limited scope may be called again (`rests_until`: the bank's reset, else the back-off)."""
    if not isinstance(exc, errors.RateLimitExceededError):
        return None
    return rests_until(exc.reset_at, now)


def extract_scope(
    factory: sessionmaker[Session],
    client: GoCardlessClient,
    targets: list[AccountTarget],
    scope: GcScope,
    *,
    concurrency: int,
    overlap_days: int = 10,
    run_id: str | None = None,
    planned: Mapping[str, frozenset[GcScope]] | None = None,
) -> list[ExtractResult]:
    """Fetch one scope for every target account, `concurrency` accounts at a time. `run_id` (the Dagster run) is
    recorded with each account's transactions outcome, so the run's outcome never reads an older run's. `planned`:
    see `extract_each`."""
    fetchers: dict[GcScope, Callable[[Session, AccountTarget, datetime], ExtractResult]] = {
        GcScope.details: lambda s, t, now: _fetch_details(s, client, t, now),
        GcScope.balances: lambda s, t, now: _fetch_balances(s, client, t, now),
        GcScope.transactions: lambda s, t, now: _fetch_transactions(s, client, t, now, overlap_days),
    }
    fetch = fetchers[scope]
    return extract_each(
        factory,
        targets,
        scope,
        concurrency=concurrency,
        run_id=run_id,
        extract_one=lambda session, target, now: _extract_one(session, target, scope, now, fetch),
        record_fetch=raw.record_fetch,
        key_of=lambda target: target.gc_account_id,
        context_of=lambda target: {"connection_id": str(target.connection_id), "gc_account_id": target.gc_account_id},
        thread_prefix="extract",
        planned=planned,
    )


Target = TypeVar("Target")


class RecordFetch(Protocol):
    def __call__(
        self,
        session: Session,
        key: str,
        /,
        *,
        outcome: str,
        run_id: str | None,
        message: str | None = None,
        retry_at: datetime | None = None,
    ) -> None: ...


def extract_each(
    factory: sessionmaker[Session],
    targets: Sequence[Target],
    scope: GcScope,
    *,
    concurrency: int,
    run_id: str | None,
    extract_one: Callable[[Session, Target, datetime], tuple[ExtractResult, datetime | None]],
    record_fetch: RecordFetch,
    key_of: Callable[[Target], str],
    context_of: Callable[[Target], dict[str, str]],
    thread_prefix: str,
    planned: Mapping[str, frozenset[GcScope]] | None = None,
) -> list[ExtractResult]:
    """Every provider's extraction loop: one unit of work per account (one account's failure keeps the others'
    rows), `concurrency` accounts at a time; the transactions read decides the account's outcome for the run and is
    recorded with `run_id`, so the run's outcome never reads an older run's; one log line per account.

    `planned` (a background run): the scopes the quota planner says are due, per account key; an account whose
    scope is not among them is skipped without a call (outcome None)."""

    def one(target: Target) -> ExtractResult:
        now = clock.now()
        context = {**context_of(target), "scope": scope}
        if planned is not None and scope not in planned.get(key_of(target), frozenset()):
            log.info("not due", extra=context)
            return ExtractResult(key_of(target), None)
        with unit_of_work(factory) as session:
            result, retry_at = extract_one(session, target, now)
            if scope is GcScope.transactions and result.outcome is not None:
                record_fetch(
                    session,
                    key_of(target),
                    outcome=result.outcome,
                    run_id=run_id,
                    message=result.message,
                    retry_at=retry_at,
                )
        level = logging.INFO if result.outcome in (SyncOutcomeKind.synced, None) else logging.WARNING
        log.log(level, "extracted", extra={**context, "outcome": result.outcome, "detail": result.message})
        return result

    if concurrency <= 1 or len(targets) <= 1:
        return [one(target) for target in targets]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"{thread_prefix}-{scope}") as pool:
        return list(pool.map(one, targets))


def _extract_one(
    session: Session,
    target: AccountTarget,
    scope: GcScope,
    now: datetime,
    fetch: Callable[[Session, AccountTarget, datetime], ExtractResult],
) -> tuple[ExtractResult, datetime | None]:
    """(result, retry_at) for one account and scope; GoCardless errors become outcomes, not exceptions."""
    if target.access_state is not GcAccessState.ok:
        return ExtractResult(
            target.gc_account_id, SyncOutcomeKind.reauth_required, "access to this account has ended"
        ), None
    reset_at = _limit_blocks(session, target.gc_account_id, scope, now)
    if reset_at is not None:
        message = f"no {scope} calls left until {reset_at.isoformat()}"
        return ExtractResult(target.gc_account_id, SyncOutcomeKind.rate_limited, message), reset_at
    try:
        return fetch(session, target, now), None
    except errors.GoCardlessError as exc:
        return _handle_error(session, target, scope, exc, now), _reset_of(exc, now)


def _fetch_details(session: Session, client: GoCardlessClient, target: AccountTarget, now: datetime) -> ExtractResult:
    metadata = client.get_account(target.gc_account_id)
    details = client.get_account_details(target.gc_account_id)
    raw.store_account_payloads(
        session, target.gc_account_id, metadata=metadata.payload, details=details.payload, read_at=now
    )
    raw.record_limits(session, target.gc_account_id, GcScope.details, details.rate_limits, now)
    raw.record_access(session, target.gc_account_id, GcAccessState.ok)
    return ExtractResult(target.gc_account_id, SyncOutcomeKind.synced)


def _fetch_balances(session: Session, client: GoCardlessClient, target: AccountTarget, now: datetime) -> ExtractResult:
    balances = client.get_account_balances(target.gc_account_id)
    raw.store_balances(session, target.gc_account_id, balances.payload, now)
    raw.record_limits(session, target.gc_account_id, GcScope.balances, balances.rate_limits, now)
    return ExtractResult(target.gc_account_id, SyncOutcomeKind.synced)


def transactions_window_start(session: Session, gc_account_id: str, today: date, overlap_days: int) -> date:
    """The first fetch covers the agreement's whole history (GoCardless's default, `DEFAULT_HISTORY_DAYS`, when
    the stored agreement does not say); later ones start at the last booked date minus the overlap, to catch late
    bookings and pending items that booked."""
    history_days = session.scalar(
        select(GcAgreement.payload["max_historical_days"].astext)
        .join(GcRequisition, GcRequisition.payload["agreement"].astext == GcAgreement.id)
        .join(GcAccount, GcAccount.requisition_id == GcRequisition.id)
        .where(GcAccount.id == gc_account_id)
    )
    earliest = today - timedelta(days=int(history_days or DEFAULT_HISTORY_DAYS))
    fetched_before = session.scalar(select(GcAccount.transactions_fetched_at).where(GcAccount.id == gc_account_id))
    if fetched_before is None:
        return earliest
    last_booked = session.scalar(
        select(func.max(GcTransaction.payload["bookingDate"].astext)).where(
            GcTransaction.gc_account_id == gc_account_id, GcTransaction.status == GcTransactionStatus.booked
        )
    )
    if last_booked is None:
        return earliest
    return max(earliest, date.fromisoformat(str(last_booked)[:10]) - timedelta(days=overlap_days))


def _fetch_transactions(
    session: Session, client: GoCardlessClient, target: AccountTarget, now: datetime, overlap_days: int
) -> ExtractResult:
    today = now.date()
    date_from = transactions_window_start(session, target.gc_account_id, today, overlap_days)
    # No `date_to` is sent: the bank answers everything from `date_from` up to its own present, which may be ahead
    # of ours (time zones, future-dated pending items). The window is therefore recorded as open-ended, never as
    # our date: an item absent from this answer is absent at the bank, however far ahead its date.
    response = client.get_account_transactions(target.gc_account_id, date_from=date_from)
    items: list[tuple[str, dict[str, Any]]] = [(GcTransactionStatus.booked, t) for t in response.transactions.booked]
    items += [(GcTransactionStatus.pending, t) for t in response.transactions.pending]
    keyed = assign_keys(items, raw.known_transactions(session, target.gc_account_id))
    raw.store_transactions(
        session, target.gc_account_id, keyed, fetched_from=date_from, fetched_to=None, fetched_at=now
    )
    raw.record_limits(session, target.gc_account_id, GcScope.transactions, response.rate_limits, now)
    return ExtractResult(target.gc_account_id, SyncOutcomeKind.synced)
