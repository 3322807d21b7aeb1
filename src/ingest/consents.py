"""The consent lifecycle: announcing a consent's end, cleaning up consents nobody uses, counting the month's
GoCardless requisitions. The Dagster sensor (src/orchestration/consents.py) runs the first two every few minutes;
the connect flow and `GET /api/meta` read the count.

**Announcements** (`announce_consents`). Each evaluation picks, per connection, the one announcement its consent
calls for now, the most urgent that applies:

- `expired`: the consent has ended: its end passed while active, or the stored status says the bank ended it
  (`expired`, `suspended`) — `consent.expired`, with the reason (`expired`: its validity ran out; `revoked`: ended
  before its end date; `suspended`: the bank suspended access). Ends older than `ENDED_NEWS_FOR` are history,
  not news: a fresh install does not announce last year's expiries.
- `expiring_final`: an active consent ending within `FINAL_REMINDER` (three days) — `consent.expiring`.
- `expiring`: an active consent ending within `EXPIRING_SOON_DAYS` — `consent.expiring`.

Each is made once per (connection, kind, end date): a row in `consent_notices`, inserted with `ON CONFLICT DO
NOTHING RETURNING`, and only the evaluation whose insert returned a row enqueues the event, in the same unit of
work (one per connection), so two evaluations that race announce it once and an announcement exists exactly when
its notice was committed. Only the most urgent kind is a candidate, so a consent that jumps straight to ten days
before its end is announced once (`expiring`), one that jumps to two days before is announced once
(`expiring_final`), and one that lapses unnoticed is announced once (`expired`) — never a burst of all three.
A re-authorisation moves the end date (`expires_at`): the new consent has its own cycle of announcements. A
consent whose end is unknown (no `expires_at`) is keyed by its connection's creation.

**Clean-up** (`clean_up_consents`). Consents nobody will use are ended at their provider: GoCardless requisitions
of connects abandoned for `ABANDONED_AFTER` (24 hours) or refused at the bank, and a re-authorised connection's
older requisitions, are deleted (`end_consent`, DELETE /requisitions) and marked gone; an abandoned connect's
connection becomes `rejected` (its consent was never given). Enable Banking opens a session only once the person
consented: an abandoned connect has no session to end, its newest authorisation is marked `abandoned` and the
connection derived (rejected); a re-authorised connection's older sessions are ended (DELETE /sessions) and marked
`superseded`; a refused consent's session is already over at Enable Banking. A call that fails is logged and tried
again at the next evaluation, never stopping the others; 404 at the provider means already gone.

**The month's requisitions** (`requisitions_this_month`): GoCardless's free tier allows
`MONTHLY_REQUISITION_ALLOWANCE` new requisitions a calendar month; `warn_when_allowance_runs_short` logs a warning
each time one is created past `ALLOWANCE_WARNING_SHARE` of it.
"""

import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased, sessionmaker

from src import notifications
from src.db import unit_of_work
from src.ingest import raw
from src.ingest.enablebanking import raw as eb_raw
from src.ingest.enablebanking.connections import derive_connections as derive_enablebanking_connections
from src.models import Connection, EbAuthorization, EbSession, GcRequisition, Institution
from src.models.connections import ConsentNotice
from src.models.enums import ConnectionStatus, ConsentNoticeKind, GcRequisitionStatus, Provider
from src.models.notifications import EventType
from src.providers.seam import BankDataProvider, ProviderError
from src.settings import settings

log = logging.getLogger(__name__)

FINAL_REMINDER = timedelta(days=3)
"""An active consent ending within this gets the last reminder (`expiring_final`)."""
ENDED_NEWS_FOR = timedelta(days=7)
"""A consent that ended longer ago than this is not announced any more (history, not news)."""
ABANDONED_AFTER = timedelta(hours=24)
"""A consent started this long ago and never finished is abandoned: it is ended at its provider."""
CLEAN_UP_BATCH = 25
"""Provider calls per provider and evaluation at most: the sensor's evaluation stays short, the rest waits a tick."""
MONTHLY_REQUISITION_ALLOWANCE = 50
"""New GoCardless requisitions a calendar month on the free tier."""
ALLOWANCE_WARNING_SHARE = 0.8
"""Past this share of the month's allowance, each new requisition logs a warning for the operator."""

# GoCardless requisition statuses of a consent started and not finished (not linked, refused, expired, suspended).
_UNFINISHED = (
    GcRequisitionStatus.created,
    GcRequisitionStatus.giving_consent,
    GcRequisitionStatus.undergoing_authentication,
    GcRequisitionStatus.selecting_accounts,
    GcRequisitionStatus.granting_access,
)


# -- announcements ------------------------------------------------------------------------------------------------
class Enqueue(Protocol):
    """The shape of `src.notifications.enqueue`, the default; a test passes one that fails for a connection, to show a
    failed announcement leaves no notice behind."""

    def __call__(
        self,
        session: Session,
        *,
        user_id: uuid.UUID,
        event_type: EventType,
        data: dict[str, Any],
        occurred_at: datetime | None = None,
    ) -> uuid.UUID: ...


@dataclass(frozen=True)
class Announcement:
    """A consent notice made by this evaluation, and the id of the event it enqueued."""

    connection_id: uuid.UUID
    user_id: uuid.UUID
    kind: ConsentNoticeKind
    ends_at: datetime
    event_id: uuid.UUID


@dataclass(frozen=True)
class _Due:
    connection_id: uuid.UUID
    user_id: uuid.UUID
    provider: str
    institution: str
    kind: ConsentNoticeKind
    ends_at: datetime
    ended_at: datetime
    reason: str | None


def _due_notices(session: Session, now: datetime) -> list[_Due]:
    """Every connection's most urgent announcement not yet made: one statement over all connections."""
    active = Connection.status == ConnectionStatus.active
    lapsed = and_(active, Connection.expires_at <= now)
    bank_ended = Connection.status.in_([ConnectionStatus.expired, ConnectionStatus.suspended])
    ends_at = func.coalesce(Connection.expires_at, Connection.created_at)
    # When the consent ended: its end date once passed; else when the status that says so was stored.
    ended_at = case((Connection.expires_at <= now, Connection.expires_at), else_=func.least(Connection.updated_at, now))
    kind = case(
        (or_(lapsed, bank_ended), literal(ConsentNoticeKind.expired.value)),
        (and_(active, Connection.expires_at <= now + FINAL_REMINDER), literal(ConsentNoticeKind.expiring_final.value)),
        (
            and_(active, Connection.expires_at <= now + timedelta(days=settings.expiring_soon_days)),
            literal(ConsentNoticeKind.expiring.value),
        ),
        else_=None,
    )
    reason = case(
        (Connection.expires_at <= now, literal("expired")),
        (Connection.status == ConnectionStatus.suspended, literal("suspended")),
        else_=literal("revoked"),
    )
    candidates = (
        select(
            Connection.id.label("connection_id"),
            Connection.user_id,
            Connection.provider,
            Institution.name.label("institution"),
            kind.label("kind"),
            ends_at.label("ends_at"),
            ended_at.label("ended_at"),
            reason.label("reason"),
        )
        .join(Institution, Institution.id == Connection.institution_id)
        .subquery()
    )
    made = select(ConsentNotice.connection_id).where(
        ConsentNotice.connection_id == candidates.c.connection_id,
        ConsentNotice.kind == candidates.c.kind,
        ConsentNotice.ends_at == candidates.c.ends_at,
    )
    rows = session.execute(
        select(candidates)
        .where(
            candidates.c.kind.is_not(None),
            ~made.exists(),
            or_(
                candidates.c.kind != ConsentNoticeKind.expired.value,
                candidates.c.ended_at > now - ENDED_NEWS_FOR,
            ),
        )
        .order_by(candidates.c.ends_at, candidates.c.connection_id)
    ).all()
    return [
        _Due(
            connection_id=row.connection_id,
            user_id=row.user_id,
            provider=str(row.provider),
            institution=row.institution,
            kind=ConsentNoticeKind(row.kind),
            ends_at=row.ends_at,
            ended_at=row.ended_at,
            reason=row.reason if row.kind == ConsentNoticeKind.expired.value else None,
        )
        for row in rows
    ]


def _event(due: _Due, now: datetime) -> tuple[EventType, dict[str, Any]]:
    """The event a notice announces, and its data (JSON: ids and times as text). Every consent event carries
    `connection_id`, `institution_name`, `provider` and `ends_at` (the notifications' contract: the e-mail names
    the day), `consent.expiring` its `days_left` and whether it is the `final` reminder, `consent.expired` when it
    ended (`ended_at`, also its `ends_at`: a consent revoked early ended before its planned end) and why
    (`reason`: expired, revoked, suspended)."""
    if due.kind is ConsentNoticeKind.expired:
        ended_at = due.ended_at.astimezone(UTC).isoformat()
        return EventType.consent_expired, {
            "connection_id": str(due.connection_id),
            "institution_name": due.institution,
            "provider": due.provider,
            "ends_at": ended_at,
            "ended_at": ended_at,
            "reason": due.reason,
        }
    days_left = max(0, math.floor((due.ends_at - now).total_seconds() / 86_400))
    return EventType.consent_expiring, {
        "connection_id": str(due.connection_id),
        "institution_name": due.institution,
        "provider": due.provider,
        "ends_at": due.ends_at.astimezone(UTC).isoformat(),
        "days_left": days_left,
        "final": due.kind is ConsentNoticeKind.expiring_final,
    }


def _announce(factory: sessionmaker[Session], enqueue: Enqueue, due: _Due, now: datetime) -> Announcement | None:
    """One connection's notice and its event, in one unit of work; None when another evaluation made it first
    (or the connection changed since it was read: deleted, or re-authorised to a new end date)."""
    with unit_of_work(factory) as session:
        still_due = select(
            Connection.id, literal(due.kind.value), literal(due.ends_at, ConsentNotice.ends_at.type)
        ).where(
            Connection.id == due.connection_id,
            func.coalesce(Connection.expires_at, Connection.created_at) == due.ends_at,
        )
        made = session.execute(
            insert(ConsentNotice)
            .from_select([ConsentNotice.connection_id, ConsentNotice.kind, ConsentNotice.ends_at], still_due)
            .on_conflict_do_nothing()
            .returning(ConsentNotice.connection_id)
        ).first()
        if made is None:
            return None
        event_type, data = _event(due, now)
        event_id = enqueue(session, user_id=due.user_id, event_type=event_type, data=data, occurred_at=now)
    return Announcement(due.connection_id, due.user_id, due.kind, due.ends_at, event_id)


def announce_consents(
    factory: sessionmaker[Session], *, now: datetime, enqueue: Enqueue = notifications.enqueue
) -> list[Announcement]:
    """Make every consent announcement due at `now` that was not made yet (the rule: this module's docstring), one
    unit of work per connection, its event written by `enqueue` (`src.notifications.enqueue`) in that unit of work;
    returns those this evaluation made. A connection whose announcement fails is
    logged and tried again at the next evaluation; the others go on."""
    with factory() as session:
        due = _due_notices(session, now)
    made: list[Announcement] = []
    for notice in due:
        context = {"connection_id": str(notice.connection_id), "user_id": str(notice.user_id)}
        try:
            announcement = _announce(factory, enqueue, notice, now)
        except Exception:
            log.exception("consent announcement failed", extra={**context, "kind": notice.kind.value})
            continue
        if announcement is not None:
            made.append(announcement)
            log.info(
                "consent announced",
                extra={**context, "kind": notice.kind.value, "ends_at": notice.ends_at.isoformat()},
            )
    return made


# -- clean-up -----------------------------------------------------------------------------------------------------
@dataclass
class CleanUp:
    """What one clean-up did: consents ended at their provider, connects given up, calls that failed."""

    requisitions_deleted: list[str] = field(default_factory=list)
    sessions_ended: list[str] = field(default_factory=list)
    connections_abandoned: list[uuid.UUID] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deadline: float | None = None
    """`time.monotonic()` past which no provider call is started (the rest waits for the next evaluation)."""

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


@dataclass(frozen=True)
class _Stale:
    consent_id: str
    connection_id: uuid.UUID
    why: str  # abandoned, rejected, superseded
    abandons_connection: bool


def _stale_requisitions(session: Session, now: datetime, limit: int) -> list[_Stale]:
    """GoCardless requisitions to delete, not gone yet: unfinished for `ABANDONED_AFTER` (of a pending connect, or
    a re-authorisation that never became current), refused at the bank, or older than the connection's current
    one (superseded by a re-authorisation). A re-authorisation in progress is newer than the current one: kept."""
    current = aliased(GcRequisition)
    abandoned = and_(
        GcRequisition.status.in_(_UNFINISHED),
        GcRequisition.first_seen_at <= now - ABANDONED_AFTER,
        or_(Connection.status == ConnectionStatus.pending, GcRequisition.id != Connection.requisition_id),
    )
    rejected = GcRequisition.status == GcRequisitionStatus.rejected
    superseded = and_(
        GcRequisition.id != Connection.requisition_id, GcRequisition.first_seen_at < current.first_seen_at
    )
    why = case((rejected, literal("rejected")), (abandoned, literal("abandoned")), else_=literal("superseded"))
    abandons = and_(
        abandoned, Connection.status == ConnectionStatus.pending, GcRequisition.id == Connection.requisition_id
    )
    rows = session.execute(
        select(GcRequisition.id, GcRequisition.connection_id, why, abandons)
        .join(Connection, Connection.id == GcRequisition.connection_id)
        .outerjoin(current, current.id == Connection.requisition_id)
        .where(
            Connection.provider == Provider.gocardless,
            GcRequisition.gone_at.is_(None),
            or_(abandoned, rejected, superseded),
        )
        .order_by(GcRequisition.first_seen_at, GcRequisition.id)
        .limit(limit)
    ).all()
    return [_Stale(r[0], r[1], r[2], bool(r[3])) for r in rows]


def _superseded_sessions(session: Session, limit: int) -> list[_Stale]:
    """Enable Banking sessions not ended that a newer session of their connection replaced (the newest is the
    connection's current one)."""
    newer = aliased(EbSession)
    replaced = (
        select(newer.id)
        .where(
            newer.connection_id == EbSession.connection_id,
            tuple_(newer.first_seen_at, newer.id) > tuple_(EbSession.first_seen_at, EbSession.id),
        )
        .exists()
    )
    rows = session.execute(
        select(EbSession.id, EbSession.connection_id)
        .where(EbSession.ended_at.is_(None), replaced)
        .order_by(EbSession.first_seen_at, EbSession.id)
        .limit(limit)
    ).all()
    return [_Stale(r[0], r[1], "superseded", False) for r in rows]


def _end(provider: BankDataProvider, stale: _Stale, result: CleanUp) -> bool:
    """End one consent at its provider; False (logged, tried again next time) when the call failed."""
    context = {"connection_id": str(stale.connection_id), "consent_id": stale.consent_id, "why": stale.why}
    try:
        provider.end_consent(stale.consent_id)  # one already gone (404) is not an error
    except ProviderError as exc:
        log.warning("stale consent not ended at the provider", extra={**context, "error": type(exc).__name__})
        result.failed.append(stale.consent_id)
        return False
    log.info("stale consent ended at the provider", extra=context)
    return True


def _clean_up_gocardless(
    factory: sessionmaker[Session], provider: BankDataProvider, now: datetime, result: CleanUp
) -> None:
    with factory() as session:
        stale = _stale_requisitions(session, now, CLEAN_UP_BATCH)
    for requisition in stale:
        if result.out_of_time() or not _end(provider, requisition, result):
            continue
        with unit_of_work(factory) as session:
            raw.record_requisition_gone(session, requisition.consent_id)
            if requisition.abandons_connection:
                session.execute(
                    update(Connection)
                    .where(Connection.id == requisition.connection_id, Connection.status == ConnectionStatus.pending)
                    .values(status=ConnectionStatus.rejected)
                )
        result.requisitions_deleted.append(requisition.consent_id)
        if requisition.abandons_connection:
            result.connections_abandoned.append(requisition.connection_id)


def _clean_up_enablebanking(
    factory: sessionmaker[Session], provider: BankDataProvider | None, now: datetime, result: CleanUp
) -> None:
    _give_up_enablebanking_connects(factory, now, result)
    if provider is None:
        return
    with factory() as session:
        stale = _superseded_sessions(session, CLEAN_UP_BATCH)
    for old in stale:
        if result.out_of_time() or not _end(provider, old, result):
            continue
        with unit_of_work(factory) as session:
            eb_raw.record_session_ended(session, old.consent_id, "superseded")
        result.sessions_ended.append(old.consent_id)


def _give_up_enablebanking_connects(factory: sessionmaker[Session], now: datetime, result: CleanUp) -> None:
    """Pending Enable Banking connects whose newest authorisation is `ABANDONED_AFTER` old and unanswered: no session
    exists (nothing to end at Enable Banking); the authorisation is marked `abandoned` and the connection derived
    (rejected). A person who still comes back with the bank's code completes it all the same."""
    newest = (
        select(EbAuthorization.id)
        .where(EbAuthorization.connection_id == Connection.id)
        .order_by(EbAuthorization.first_seen_at.desc(), EbAuthorization.id.desc())
        .limit(1)
        .correlate(Connection)
        .scalar_subquery()
    )
    has_session = select(EbSession.id).where(EbSession.connection_id == Connection.id).exists()
    with unit_of_work(factory) as session:
        abandoned = session.execute(
            update(EbAuthorization)
            .where(
                EbAuthorization.connection_id == Connection.id,
                Connection.provider == Provider.enablebanking,
                Connection.status == ConnectionStatus.pending,
                EbAuthorization.id == newest,
                ~has_session,
                EbAuthorization.callback_completed_at.is_(None),
                EbAuthorization.error.is_(None),
                EbAuthorization.first_seen_at <= now - ABANDONED_AFTER,
            )
            .values(error="abandoned")
            .returning(EbAuthorization.connection_id)
        ).scalars()
        connection_ids = list(abandoned)
        derive_enablebanking_connections(session, connection_ids)
    result.connections_abandoned.extend(connection_ids)
    for connection_id in connection_ids:
        log.info("abandoned connect given up", extra={"connection_id": str(connection_id), "why": "abandoned"})


def clean_up_consents(
    factory: sessionmaker[Session],
    *,
    gocardless: BankDataProvider | None,
    enablebanking: BankDataProvider | None,
    now: datetime,
    time_budget: timedelta | None = None,
) -> CleanUp:
    """End the consents nobody will use (the rule: this module's docstring) at each provider given (None: that
    provider is skipped), at most `CLEAN_UP_BATCH` calls per provider and no call started after `time_budget` (a
    provider that answers slowly, or not at all after its client's retries, must not hold the caller up); what is
    left waits for the next evaluation."""
    deadline = None if time_budget is None else time.monotonic() + time_budget.total_seconds()
    result = CleanUp(deadline=deadline)
    if gocardless is not None:
        _clean_up_gocardless(factory, gocardless, now, result)
    _clean_up_enablebanking(factory, enablebanking, now, result)
    return result


# -- the month's requisitions -------------------------------------------------------------------------------------
def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s calendar month, UTC."""
    utc = now.astimezone(UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def requisitions_this_month(session: Session, *, now: datetime) -> int:
    """New GoCardless requisitions created this calendar month (UTC), by when finsync first stored each.

    Deleting a connection deletes its requisitions' rows, so requisitions of connections deleted this month are
    not counted, although GoCardless counted them."""
    start = month_start(now)
    next_month = (start + timedelta(days=32)).replace(day=1)
    count = session.scalar(
        select(func.count())
        .select_from(GcRequisition)
        .where(GcRequisition.first_seen_at >= start, GcRequisition.first_seen_at < next_month)
    )
    return int(count or 0)


def warn_when_allowance_runs_short(session: Session, *, now: datetime, connection_id: uuid.UUID) -> int:
    """After a requisition was created: log a warning for the operator when the month's count is past
    `ALLOWANCE_WARNING_SHARE` of the allowance (each time, so the log shows how close the month is). Returns the
    count."""
    count = requisitions_this_month(session, now=now)
    if count > MONTHLY_REQUISITION_ALLOWANCE * ALLOWANCE_WARNING_SHARE:
        log.warning(
            "gocardless requisitions this month past 80% of the allowance",
            extra={
                "event": "gocardless_requisition_allowance",
                "connection_id": str(connection_id),
                "requisitions_this_month": count,
                "monthly_allowance": MONTHLY_REQUISITION_ALLOWANCE,
            },
        )
    return count
