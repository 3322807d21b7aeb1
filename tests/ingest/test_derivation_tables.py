"""Every branch of the derivations' status rules, one table row each, on raw rows planted in `db_session`.

The rules are SQL CASE expressions (`src/ingest/connections.py`, `src/ingest/accounts.py`,
`src/ingest/outcomes.py`). The sandbox reaches only some of their branches (an expired agreement, a linked
requisition); these tables plant the raw rows GoCardless would have left (a requisition with its code, its
agreement, its accounts' metadata and access state, an extraction's fetch result), run the derivation on the
test's session and read back the unified status or message. Each row starts from a stored status other than the
one it expects, so a derivation that changed nothing fails too; a wrong arm of a CASE fails the rows of that arm
(the second table of each rule pins the order of the arms and the edges of their conditions).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from src.ingest.accounts import derive_accounts
from src.ingest.connections import derive_connections
from src.ingest.outcomes import record_outcome
from src.ingest.transactions import SyncCounts
from src.models import Account, Connection, GcAccount, GcAgreement, GcRequisition, SyncOutcome
from src.models.enums import AccountStatus, ConnectionStatus, GcAccessState, SyncOutcomeKind
from tests.factories import create_account, create_connection

OK = GcAccessState.ok
SUSPENDED = GcAccessState.suspended
ENDED = GcAccessState.expired

S = TypeVar("S", ConnectionStatus, AccountStatus)


def _now(session: Session) -> datetime:
    """The transaction's `now()`: what the derivations compare expiries with (fixed for the whole test)."""
    return session.execute(select(func.now())).scalar_one()


def _start_from(expected: S) -> S:
    """A stored status to start from that is not the expected one (error, or active when error is expected)."""
    members = type(expected)
    return members("error") if expected != "error" else members("active")


def _requisition(
    session: Session,
    connection: Connection,
    code: str,
    *,
    agreement: dict[str, Any] | None = None,
    gone: bool = False,
) -> GcRequisition:
    """A stored requisition with GoCardless's `code`, made the connection's current one (with its agreement, when
    given, stored as GoCardless returns it)."""
    requisition_id = str(uuid.uuid4())
    payload: dict[str, Any] = {"id": requisition_id, "status": code, "institution_id": connection.institution_id}
    if agreement is not None:
        agreement_id = str(uuid.uuid4())
        session.add(
            GcAgreement(id=agreement_id, connection_id=connection.id, payload={"id": agreement_id, **agreement})
        )
        payload["agreement"] = agreement_id
    requisition = GcRequisition(
        id=requisition_id,
        connection_id=connection.id,
        reference=f"ref-{requisition_id}",
        status=code,
        payload=payload,
        gone_at=func.now() if gone else None,
    )
    session.add(requisition)
    connection.requisition_id = requisition_id
    session.flush()
    return requisition


def _raw_account(session: Session, requisition: GcRequisition, **values: Any) -> GcAccount:
    """A raw account listed by `requisition`, with the given columns (access state, metadata, fetch result)."""
    account = GcAccount(id=str(uuid.uuid4()), requisition_id=requisition.id, **values)
    session.add(account)
    session.flush()
    return account


def _accepted(now: datetime, days_ago: float, access_days: int | None = 90) -> dict[str, Any]:
    """An agreement payload accepted `days_ago` before the test's `now()`, for `access_days` (None: key absent)."""
    payload: dict[str, Any] = {"accepted": (now - timedelta(days=days_ago)).isoformat(), "max_historical_days": 90}
    if access_days is not None:
        payload["access_valid_for_days"] = access_days
    return payload


# --- connections ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCase:
    code: str
    expected: ConnectionStatus
    accounts: tuple[GcAccessState, ...] = (OK,)
    agreement_age_days: float | None = 10.0  # None: the requisition names no agreement
    access_days: int | None = 90
    gone: bool = False


def _derive_connection(session: Session, case: ConnectionCase) -> ConnectionStatus:
    now = _now(session)
    connection = create_connection(session, status=_start_from(case.expected))
    agreement = None
    if case.agreement_age_days is not None:
        agreement = _accepted(now, case.agreement_age_days, case.access_days)
    requisition = _requisition(session, connection, case.code, agreement=agreement, gone=case.gone)
    for state in case.accounts:
        _raw_account(session, requisition, access_state=state)
    assert derive_connections(session, [connection.id]) == 1
    return session.execute(select(Connection.status).where(Connection.id == connection.id)).scalar_one()


CONNECTION_BRANCHES = [
    pytest.param(ConnectionCase("LN", ConnectionStatus.expired, gone=True), id="gone-at-gocardless-expired"),
    pytest.param(ConnectionCase("RJ", ConnectionStatus.rejected), id="RJ-rejected"),
    pytest.param(ConnectionCase("EX", ConnectionStatus.expired), id="EX-expired"),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, agreement_age_days=100), id="LN-agreement-over-expired"
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.suspended, accounts=(SUSPENDED, SUSPENDED)),
        id="LN-every-account-suspended-suspended",
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, accounts=(ENDED, ENDED)), id="LN-every-account-ended-expired"
    ),
    pytest.param(ConnectionCase("LN", ConnectionStatus.active, accounts=(OK, OK)), id="LN-active"),
    pytest.param(ConnectionCase("CR", ConnectionStatus.pending), id="CR-pending"),
    pytest.param(ConnectionCase("GC", ConnectionStatus.pending), id="GC-pending"),
    pytest.param(ConnectionCase("UA", ConnectionStatus.pending), id="UA-pending"),
    pytest.param(ConnectionCase("SA", ConnectionStatus.pending), id="SA-pending"),
    pytest.param(ConnectionCase("GA", ConnectionStatus.pending), id="GA-pending"),
    pytest.param(ConnectionCase("SU", ConnectionStatus.suspended), id="SU-suspended"),
    pytest.param(ConnectionCase("ER", ConnectionStatus.error), id="ER-error"),
    pytest.param(ConnectionCase("ID", ConnectionStatus.error), id="ID-error"),
    pytest.param(ConnectionCase("XX", ConnectionStatus.error), id="unknown-code-error"),
]

CONNECTION_ORDER_AND_EDGES = [
    # A refusal stays a refusal once the requisition is gone; one gone before the person consented (an abandoned
    # connect the consent clean-up deleted) is a connect that did not happen; gone after consent: expired.
    pytest.param(ConnectionCase("RJ", ConnectionStatus.rejected, gone=True), id="RJ-before-gone"),
    pytest.param(ConnectionCase("CR", ConnectionStatus.rejected, gone=True), id="gone-before-consent"),
    pytest.param(ConnectionCase("LN", ConnectionStatus.expired, gone=True), id="gone-after-consent"),
    pytest.param(ConnectionCase("SU", ConnectionStatus.expired, gone=True), id="gone-before-SU"),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, accounts=(SUSPENDED,), agreement_age_days=100),
        id="agreement-over-before-accounts-suspended",
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, agreement_age_days=90), id="agreement-ending-now-is-over"
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.active, agreement_age_days=89.99), id="agreement-ending-soon-active"
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, agreement_age_days=91, access_days=None),
        id="agreement-default-access-days-over",
    ),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.active, agreement_age_days=None), id="LN-without-agreement-active"
    ),
    pytest.param(ConnectionCase("LN", ConnectionStatus.active, accounts=()), id="LN-without-accounts-active"),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.active, accounts=(SUSPENDED, OK)), id="LN-one-account-suspended-active"
    ),
    pytest.param(ConnectionCase("LN", ConnectionStatus.active, accounts=(ENDED, OK)), id="LN-one-account-ended-active"),
    pytest.param(
        ConnectionCase("LN", ConnectionStatus.expired, accounts=(SUSPENDED, ENDED)),
        id="LN-suspended-and-ended-accounts-expired",
    ),
    pytest.param(
        ConnectionCase("GA", ConnectionStatus.pending, agreement_age_days=100), id="agreement-over-only-counts-for-LN"
    ),
    pytest.param(ConnectionCase("ln", ConnectionStatus.error), id="codes-compared-verbatim"),
]


class TestConnectionStatus:
    @pytest.mark.parametrize("case", CONNECTION_BRANCHES)
    def test_each_branch(self, db_session: Session, case: ConnectionCase) -> None:
        assert _derive_connection(db_session, case) == case.expected

    @pytest.mark.parametrize("case", CONNECTION_ORDER_AND_EDGES)
    def test_order_and_edges(self, db_session: Session, case: ConnectionCase) -> None:
        assert _derive_connection(db_session, case) == case.expected


class TestConnectionExpiry:
    @pytest.mark.parametrize(
        ("agreement", "expires_in_days"),
        [
            pytest.param({"accepted_days_ago": 10, "access_valid_for_days": 30}, 20, id="accepted-plus-access-days"),
            pytest.param({"accepted_days_ago": 10}, 80, id="accepted-plus-default-90-days"),
            pytest.param({"accepted": None, "access_valid_for_days": 30}, None, id="not-accepted-yet-none"),
            pytest.param(None, None, id="no-agreement-none"),
        ],
    )
    def test_expires_at(
        self, db_session: Session, agreement: dict[str, Any] | None, expires_in_days: int | None
    ) -> None:
        # Days are added on the session's time zone (a DST change would move the result by an hour): pin UTC.
        db_session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        now = _now(db_session)
        connection = create_connection(db_session, status=ConnectionStatus.pending, expires_at=now + timedelta(days=1))
        payload = None
        if agreement is not None:
            payload = dict(agreement)
            if "accepted_days_ago" in payload:
                payload["accepted"] = (now - timedelta(days=payload.pop("accepted_days_ago"))).isoformat()
        _requisition(db_session, connection, "LN", agreement=payload)
        derive_connections(db_session, [connection.id])
        expires_at = db_session.execute(
            select(Connection.expires_at).where(Connection.id == connection.id)
        ).scalar_one()
        assert expires_at == (None if expires_in_days is None else now + timedelta(days=expires_in_days))


# --- accounts ------------------------------------------------------------------------------------------------


def _derive_account(
    session: Session, access_state: GcAccessState, gc_status: str | None, expected: AccountStatus
) -> AccountStatus:
    connection = create_connection(session)
    requisition = _requisition(session, connection, "LN")
    account = create_account(session, connection=connection, status=_start_from(expected))
    metadata = None if gc_status is None else {"id": "x", "status": gc_status, "iban": account.iban}
    raw = _raw_account(
        session, requisition, account_id=account.id, access_state=access_state, metadata_payload=metadata
    )
    derive_accounts(session, [connection.id])
    provider_id, status = session.execute(
        select(Account.provider_id, Account.status).where(Account.id == account.id)
    ).one()
    assert provider_id == raw.id  # the account follows its raw account
    return AccountStatus(status)


class TestAccountStatus:
    """DISCOVERED and PROCESSING have an arm of their own, and the ELSE (an unknown status, or no metadata yet) gives
    the same processing: leaving either code out of that arm would fail no row here."""

    @pytest.mark.parametrize(
        ("access_state", "gc_status", "expected"),
        [
            pytest.param(SUSPENDED, "READY", AccountStatus.suspended, id="access-suspended-over-READY"),
            pytest.param(ENDED, "READY", AccountStatus.expired, id="access-ended-over-READY"),
            pytest.param(OK, "READY", AccountStatus.active, id="READY-active"),
            pytest.param(OK, "DISCOVERED", AccountStatus.processing, id="DISCOVERED-processing"),
            pytest.param(OK, "PROCESSING", AccountStatus.processing, id="PROCESSING-processing"),
            pytest.param(OK, "EXPIRED", AccountStatus.expired, id="EXPIRED-expired"),
            pytest.param(OK, "SUSPENDED", AccountStatus.suspended, id="SUSPENDED-suspended"),
            pytest.param(OK, "ERROR", AccountStatus.error, id="ERROR-error"),
            pytest.param(OK, "BLOCKED", AccountStatus.processing, id="unknown-status-processing"),
            pytest.param(OK, None, AccountStatus.processing, id="no-metadata-processing"),
        ],
    )
    def test_each_branch(
        self, db_session: Session, access_state: GcAccessState, gc_status: str | None, expected: AccountStatus
    ) -> None:
        assert _derive_account(db_session, access_state, gc_status, expected) == expected

    @pytest.mark.parametrize(
        ("access_state", "gc_status", "expected"),
        [
            pytest.param(SUSPENDED, "ERROR", AccountStatus.suspended, id="access-suspended-over-ERROR"),
            pytest.param(ENDED, "SUSPENDED", AccountStatus.expired, id="access-ended-over-SUSPENDED"),
            pytest.param(SUSPENDED, None, AccountStatus.suspended, id="access-suspended-without-metadata"),
            pytest.param(OK, "ready", AccountStatus.processing, id="statuses-compared-verbatim"),
        ],
    )
    def test_order_and_edges(
        self, db_session: Session, access_state: GcAccessState, gc_status: str | None, expected: AccountStatus
    ) -> None:
        assert _derive_account(db_session, access_state, gc_status, expected) == expected


# --- outcomes ------------------------------------------------------------------------------------------------

RUN = "run-this"
EARLIER_RUN = "run-earlier"
COUNTS = SyncCounts(new=3, updated=2)

CONSENT_ENDED = "The consent for this connection has ended; re-authorise it to sync again."
CONSENT_REFUSED = "The consent for this connection was refused at the bank; re-authorise it to sync again."
ACCESS_SUSPENDED = "The bank has suspended access to this connection; re-authorise it to sync again."
CONSENT_AWAITED = "This connection is still waiting for the bank's consent."
BANK_PROBLEM = "The bank reported a problem with this connection; re-authorise it to sync again."


@dataclass(frozen=True)
class Fetch:
    """How an extraction's transactions fetch of the account ended, and by which run."""

    outcome: str | None
    message: str | None = None
    retry_in_hours: int | None = None
    run_id: str | None = RUN


@dataclass(frozen=True)
class OutcomeCase:
    connection: ConnectionStatus
    fetch: Fetch | None  # None: no extraction ever fetched the account
    outcome: SyncOutcomeKind | None  # None: the run records no outcome for the account
    message: str | None = None
    retry_in_hours: int | None = None


def _record(session: Session, case: OutcomeCase) -> None:
    now = _now(session)
    connection = create_connection(session, status=case.connection)
    requisition = _requisition(session, connection, "LN")
    account = create_account(session, connection=connection)
    fetch: dict[str, Any] = {}
    if case.fetch is not None:
        fetch = {
            "fetch_outcome": case.fetch.outcome,
            "fetch_message": case.fetch.message,
            "fetch_retry_at": None
            if case.fetch.retry_in_hours is None
            else now + timedelta(hours=case.fetch.retry_in_hours),
            "fetched_at": now,
            "fetch_run_id": case.fetch.run_id,
        }
    raw = _raw_account(session, requisition, account_id=account.id, **fetch)
    account.provider_id = raw.id
    session.flush()

    record_outcome(session, RUN, account.id, COUNTS)

    recorded = session.execute(
        select(
            SyncOutcome.outcome,
            SyncOutcome.message,
            SyncOutcome.retry_at,
            SyncOutcome.new_count,
            SyncOutcome.updated_count,
        ).where(SyncOutcome.dagster_run_id == RUN, SyncOutcome.account_id == account.id)
    ).all()
    last_synced_at = session.execute(
        select(Connection.last_synced_at).where(Connection.id == connection.id)
    ).scalar_one()
    if case.outcome is None:
        assert list(recorded) == []
    else:
        retry_at = None if case.retry_in_hours is None else now + timedelta(hours=case.retry_in_hours)
        assert [tuple(row) for row in recorded] == [(case.outcome, case.message, retry_at, COUNTS.new, COUNTS.updated)]
    # "Last synced" moves only when this run fetched the account and it synced.
    assert (last_synced_at is not None) == (case.outcome is SyncOutcomeKind.synced)


C = ConnectionStatus
K = SyncOutcomeKind

OUTCOME_BRANCHES = [
    pytest.param(OutcomeCase(C.active, Fetch("synced"), K.synced), id="fetched-synced"),
    pytest.param(OutcomeCase(C.active, Fetch(None), K.synced), id="fetched-no-outcome-synced"),
    pytest.param(
        OutcomeCase(C.active, Fetch("rate_limited", "Slow down", 6), K.rate_limited, "Slow down", 6),
        id="fetched-rate-limited-with-retry",
    ),
    pytest.param(
        OutcomeCase(C.active, Fetch("reauth_required", "Consent gone"), K.reauth_required, "Consent gone"),
        id="fetched-reauth-required-with-message",
    ),
    pytest.param(
        OutcomeCase(C.active, Fetch("bank_error", "Bank down"), K.bank_error, "Bank down"),
        id="fetched-bank-error-with-message",
    ),
    pytest.param(
        OutcomeCase(C.expired, Fetch("synced", run_id=EARLIER_RUN), K.reauth_required, CONSENT_ENDED),
        id="not-fetched-expired",
    ),
    pytest.param(
        OutcomeCase(C.rejected, Fetch("synced", run_id=EARLIER_RUN), K.reauth_required, CONSENT_REFUSED),
        id="not-fetched-rejected",
    ),
    pytest.param(
        OutcomeCase(C.suspended, Fetch("synced", run_id=EARLIER_RUN), K.reauth_required, ACCESS_SUSPENDED),
        id="not-fetched-suspended",
    ),
    pytest.param(
        OutcomeCase(C.pending, Fetch("synced", run_id=EARLIER_RUN), K.reauth_required, CONSENT_AWAITED),
        id="not-fetched-pending",
    ),
    pytest.param(
        OutcomeCase(C.error, Fetch("synced", run_id=EARLIER_RUN), K.reauth_required, BANK_PROBLEM),
        id="not-fetched-error",
    ),
    pytest.param(OutcomeCase(C.active, Fetch("synced", run_id=EARLIER_RUN), None), id="not-fetched-active-no-row"),
]

OUTCOME_ORDER_AND_EDGES = [
    pytest.param(
        OutcomeCase(C.active, Fetch("synced", "Stale note", 6), K.synced), id="synced-drops-message-and-retry"
    ),
    pytest.param(
        OutcomeCase(C.active, Fetch("bank_error", "Bank down", 6), K.bank_error, "Bank down"),
        id="retry-only-when-rate-limited",
    ),
    pytest.param(
        OutcomeCase(C.expired, Fetch("bank_error", "Bank down"), K.bank_error, "Bank down"),
        id="this-runs-fetch-before-connection-status",
    ),
    pytest.param(
        OutcomeCase(
            C.expired, Fetch("rate_limited", "Slow down", 6, run_id=EARLIER_RUN), K.reauth_required, CONSENT_ENDED
        ),
        id="earlier-runs-fetch-never-speaks",
    ),
    pytest.param(OutcomeCase(C.expired, None, K.reauth_required, CONSENT_ENDED), id="never-fetched-expired"),
    pytest.param(OutcomeCase(C.active, None, None), id="never-fetched-active-no-row"),
]


class TestSyncOutcome:
    @pytest.mark.parametrize("case", OUTCOME_BRANCHES)
    def test_each_branch(self, db_session: Session, case: OutcomeCase) -> None:
        _record(db_session, case)

    @pytest.mark.parametrize("case", OUTCOME_ORDER_AND_EDGES)
    def test_order_and_edges(self, db_session: Session, case: OutcomeCase) -> None:
        _record(db_session, case)
