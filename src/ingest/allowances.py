"""What the quota planner (`src/ingest/quota.py`) needs from the database, and its plans for connections.

Read for the background sync (which connections are due), for a background run (which scopes of which account to
call) and for the API (calls left, when they come back, the next background sync). Both providers' raw rows answer
in the same shape: GoCardless's allowances come from its headers (`gc_account_limits`), Enable Banking's from
finsync's own count of its unattended reads (`eb_account_limits`, `src.ingest.enablebanking.raw.count_unattended_read`).
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from src.ingest.enablebanking.extraction import current_sessions
from src.ingest.quota import POLICIES, AccountAllowances, Allowance, ConnectionPlan, QuotaPolicy, plan_connection
from src.models import Connection, EbAccount, EbAccountLimit, EbSession, GcAccount, GcAccountLimit, GcRequisition, Job
from src.models.enums import (
    EbSessionStatus,
    GcAccessState,
    GcRequisitionStatus,
    GcScope,
    JobEntityType,
    JobTrigger,
    Provider,
)


def connection_plans(
    session: Session, connection_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, ConnectionPlan]:
    """Each connection's plan as of `now` (its provider's policy)."""
    return {
        connection_id: plan_connection(accounts, now, policy)
        for connection_id, (policy, accounts) in connection_allowances(session, connection_ids).items()
    }


def connection_allowances(
    session: Session, connection_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[QuotaPolicy, list[AccountAllowances]]]:
    """The allowances of every account the next sync of each connection would read (the current consent's accounts
    whose access has not ended)."""
    ids = list(connection_ids)
    if not ids:
        return {}
    providers: dict[uuid.UUID, str] = {
        connection_id: str(provider)
        for connection_id, provider in session.execute(
            select(Connection.id, Connection.provider).where(Connection.id.in_(ids))
        ).all()
    }
    synced = _person_synced_at(session, ids)
    rows = _gocardless_rows(session, ids) + _enablebanking_rows(session, ids)
    scopes: dict[tuple[uuid.UUID, str], dict[GcScope, Allowance]] = defaultdict(dict)
    details: dict[tuple[uuid.UUID, str], tuple[uuid.UUID | None, datetime | None]] = {}
    for connection_id, key, account_id, details_at, scope, limit, remaining, reset_at, updated_at in rows:
        details[(connection_id, key)] = (account_id, details_at)
        if scope is not None:
            scopes[(connection_id, key)][GcScope(scope)] = Allowance(limit, remaining, reset_at, updated_at)
    result: dict[uuid.UUID, tuple[QuotaPolicy, list[AccountAllowances]]] = {
        connection_id: (POLICIES[provider], []) for connection_id, provider in providers.items()
    }
    for (connection_id, key), (account_id, details_at) in sorted(
        details.items(), key=lambda item: (str(item[0][0]), item[0][1])
    ):
        result[connection_id][1].append(
            AccountAllowances(
                key=key,
                account_id=account_id,
                scopes=scopes.get((connection_id, key), {}),
                details_fetched_at=details_at,
                person_synced_at=synced.get(connection_id),
            )
        )
    return result


def _person_synced_at(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """The start of each connection's latest Sync now (a manual job that reached Dagster)."""
    rows = session.execute(
        select(Job.entity_id, func.max(func.coalesce(Job.started_at, Job.created_at)))
        .where(
            Job.entity_type == JobEntityType.connection,
            Job.entity_id.in_(ids),
            Job.trigger == JobTrigger.manual,
            Job.dagster_run_id.is_not(None),
        )
        .group_by(Job.entity_id)
    ).all()
    return {entity_id: at for entity_id, at in rows}


_LimitRow = tuple[
    uuid.UUID,
    str,
    uuid.UUID | None,
    datetime | None,
    str | None,
    int | None,
    int | None,
    datetime | None,
    datetime | None,
]


def _gocardless_rows(session: Session, ids: list[uuid.UUID]) -> list[_LimitRow]:
    rows = session.execute(
        select(
            Connection.id,
            GcAccount.id,
            GcAccount.account_id,
            GcAccount.details_fetched_at,
            GcAccountLimit.scope,
            GcAccountLimit.limit,
            GcAccountLimit.remaining,
            GcAccountLimit.reset_at,
            GcAccountLimit.updated_at,
        )
        .join(
            GcRequisition,
            and_(GcRequisition.connection_id == Connection.id, GcRequisition.id == Connection.requisition_id),
        )
        .join(GcAccount, GcAccount.requisition_id == GcRequisition.id)
        .outerjoin(GcAccountLimit, GcAccountLimit.gc_account_id == GcAccount.id)
        .where(
            Connection.id.in_(ids),
            Connection.provider == Provider.gocardless,
            GcRequisition.status == GcRequisitionStatus.linked,
            GcRequisition.gone_at.is_(None),
            GcAccount.access_state == GcAccessState.ok,
        )
    ).all()
    return [tuple(row) for row in rows]


def _enablebanking_rows(session: Session, ids: list[uuid.UUID]) -> list[_LimitRow]:
    sessions = dict((session_id, connection_id) for connection_id, session_id in current_sessions(session, ids))
    if not sessions:
        return []
    rows = session.execute(
        select(
            EbAccount.session_id,
            EbAccount.uid,
            EbAccount.account_id,
            EbAccount.details_fetched_at,
            EbAccountLimit.scope,
            EbAccountLimit.limit,
            EbAccountLimit.remaining,
            EbAccountLimit.reset_at,
            EbAccountLimit.updated_at,
        )
        .join(EbSession, EbSession.id == EbAccount.session_id)
        .outerjoin(EbAccountLimit, EbAccountLimit.eb_account_uid == EbAccount.uid)
        .where(
            EbAccount.session_id.in_(list(sessions)),
            EbSession.status == EbSessionStatus.authorized,
            EbAccount.access_state == GcAccessState.ok,
        )
    ).all()
    return [(sessions[row[0]], *row[1:]) for row in rows]
