"""The consent lifecycle against a real PostgreSQL and the sandboxes over HTTP: each announcement made once (the
done-when: ten days before expiry, one `consent.expiring` per webhook endpoint and one e-mail; on expiry one
`consent.expired`), racing evaluations, a re-authorisation's new cycle; stale consents ended at GoCardless and
Enable Banking (checked at the sandbox), failures tried again; the month's requisition count."""

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from src import clock
from src.connections.enablebanking import start_consent
from src.connections.service import connection as connection_service
from src.db import unit_of_work
from src.ingest import consents, raw
from src.ingest.connections import derive_connections
from src.ingest.consents import (
    ABANDONED_AFTER,
    Announcement,
    announce_consents,
    clean_up_consents,
    requisitions_this_month,
)
from src.models import Connection, EbSession, GcRequisition, Institution, User, WebhookEndpoint
from src.models.enums import ConnectionStatus, ConsentNoticeKind, Provider
from src.notifications import enqueue
from src.notifications.mail import compose
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.errors import ResourceNotFoundError
from src.providers.gocardless.models import Requisition
from src.providers.gocardless.seam import GoCardlessProvider
from tests.harness.enablebanking import (
    EnableBankingSandboxControl,
    EnableBankingSandboxServer,
    sandbox_enablebanking_client,
)
from tests.harness.enablebanking_ingest import connect_enablebanking, consent
from tests.harness.ingest import connect_sandbox, rows
from tests.harness.sandbox import SandboxControl

SANDBOX_BANK = "SANDBOXFINANCE_SFIN0000"


# -- helpers ------------------------------------------------------------------------------------------------------
def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def announce(engine: Engine, now: datetime) -> list[Announcement]:
    return announce_consents(sessions(engine), now=now, enqueue=enqueue)


def user_of(engine: Engine, connection_id: uuid.UUID) -> uuid.UUID:
    with sessions(engine)() as session:
        user_id = session.scalar(select(Connection.user_id).where(Connection.id == connection_id))
    assert user_id is not None
    return user_id


def add_endpoints(engine: Engine, user_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """`count` webhook endpoints of the user, subscribed to every event (the secret is never read here)."""
    with unit_of_work(sessions(engine)) as session:
        endpoints = [
            WebhookEndpoint(user_id=user_id, url=f"https://hooks.example.com/{n}", secret="sealed")
            for n in range(count)
        ]
        session.add_all(endpoints)
        session.flush()
        return [endpoint.id for endpoint in endpoints]


def linked(engine: Engine, sandbox: SandboxControl, **options: Any) -> tuple[uuid.UUID, datetime]:
    """An active sandbox connection with its expiry derived from its agreement: (id, expires_at)."""
    connection_id = connect_sandbox(engine, sandbox, **options)
    with unit_of_work(sessions(engine)) as session:
        derive_connections(session, [connection_id])
        expires_at = session.scalar(select(Connection.expires_at).where(Connection.id == connection_id))
    assert expires_at is not None
    return connection_id, expires_at


def outbox(engine: Engine, user_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """The user's outbox: (event_id, event_type, channel, endpoint_id, recipient, payload), oldest first."""
    return rows(
        engine,
        "SELECT event_id, event_type, channel, endpoint_id, recipient, payload FROM notification_outbox"
        " WHERE user_id = :u ORDER BY id",
        u=user_id,
    )


def events(engine: Engine, user_id: uuid.UUID) -> list[tuple[str, str]]:
    """One (event type, channel) per outbox row."""
    return [(str(r[1]), str(r[2])) for r in outbox(engine, user_id)]


def set_connection(engine: Engine, connection_id: uuid.UUID, **values: Any) -> None:
    with unit_of_work(sessions(engine)) as session:
        session.execute(Connection.__table__.update().where(Connection.id == connection_id).values(**values))


# -- announcements ------------------------------------------------------------------------------------------------
class TestAnnounce:
    def test_ten_days_before_expiry_one_expiring_per_endpoint_and_one_email_then_one_expired(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        """The done-when: evaluated twice at ten days before expiry, still one event; on expiry, one more."""
        connection_id, expires_at = linked(pipeline_database, sandbox)
        user_id = user_of(pipeline_database, connection_id)
        endpoints = add_endpoints(pipeline_database, user_id, 2)

        assert announce(pipeline_database, expires_at - timedelta(days=20)) == []  # outside the window
        ten_days = expires_at - timedelta(days=10)
        made = announce(pipeline_database, ten_days)
        assert [(a.connection_id, a.kind) for a in made] == [(connection_id, ConsentNoticeKind.expiring)]
        assert announce(pipeline_database, ten_days + timedelta(minutes=10)) == []  # the next tick: nothing new

        expiring = outbox(pipeline_database, user_id)
        assert sorted((r[1], r[2]) for r in expiring) == [
            ("consent.expiring", "email"),
            ("consent.expiring", "webhook"),
            ("consent.expiring", "webhook"),
        ]
        assert {r[0] for r in expiring} == {made[0].event_id}  # one event, one id in every destination
        assert {r[3] for r in expiring if r[2] == "webhook"} == set(endpoints)
        body = expiring[0][5]
        assert body["type"] == "consent.expiring"
        assert body["data"] == {
            "connection_id": str(connection_id),
            "institution_name": SANDBOX_BANK,
            "provider": "gocardless",
            "ends_at": expires_at.astimezone(UTC).isoformat(),
            "days_left": 10,
            "final": False,
        }

        email = next(r for r in expiring if r[2] == "email")
        day = expires_at.astimezone(UTC)
        subject = compose(email[5], recipient=str(email[4]), sender="finsync <finsync@localhost>")["Subject"]
        assert subject == f"finsync: your consent with {SANDBOX_BANK} ends on {day.day} {day:%B %Y}"

        after = expires_at + timedelta(minutes=5)
        made = announce(pipeline_database, after)
        assert [(a.kind, a.ends_at) for a in made] == [(ConsentNoticeKind.expired, expires_at)]
        assert announce(pipeline_database, after + timedelta(hours=1)) == []
        expired = [r for r in outbox(pipeline_database, user_id) if r[1] == "consent.expired"]
        assert sorted(r[2] for r in expired) == ["email", "webhook", "webhook"]
        assert expired[0][5]["data"] == {
            "connection_id": str(connection_id),
            "institution_name": SANDBOX_BANK,
            "provider": "gocardless",
            "ends_at": expires_at.astimezone(UTC).isoformat(),
            "ended_at": expires_at.astimezone(UTC).isoformat(),
            "reason": "expired",
        }

    def test_a_consent_announced_soon_then_three_days_before_then_expired_each_once(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id, expires_at = linked(pipeline_database, sandbox)
        user_id = user_of(pipeline_database, connection_id)
        for days in (14, 12, 3, 2, 1, -0.01, -1):
            announce(pipeline_database, expires_at - timedelta(days=days))
        got = outbox(pipeline_database, user_id)  # the e-mails alone: no endpoint
        assert [(r[1], r[5]["data"].get("final")) for r in got] == [
            ("consent.expiring", False),
            ("consent.expiring", True),
            ("consent.expired", None),
        ]
        assert got[1][5]["data"]["days_left"] == 3

    def test_a_consent_found_two_days_before_its_end_gets_the_final_reminder_only(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id, expires_at = linked(pipeline_database, sandbox)
        user_id = user_of(pipeline_database, connection_id)
        made = announce(pipeline_database, expires_at - timedelta(days=2))
        assert [a.kind for a in made] == [ConsentNoticeKind.expiring_final]
        assert events(pipeline_database, user_id) == [("consent.expiring", "email")]

    def test_a_consent_the_bank_ended_is_announced_expired_with_its_reason(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        revoked, _ = linked(pipeline_database, sandbox)
        suspended, _ = linked(pipeline_database, sandbox, customer="bob")
        set_connection(pipeline_database, revoked, status=ConnectionStatus.expired)
        set_connection(pipeline_database, suspended, status=ConnectionStatus.suspended)
        now = clock.now()
        made = {a.connection_id: a for a in announce(pipeline_database, now)}
        assert set(made) == {revoked, suspended}
        reasons = {
            cid: [r[5]["data"]["reason"] for r in outbox(pipeline_database, user_of(pipeline_database, cid))]
            for cid in (revoked, suspended)
        }
        assert reasons == {revoked: ["revoked"], suspended: ["suspended"]}
        assert announce(pipeline_database, now + timedelta(minutes=10)) == []

    def test_a_reauthorisation_starts_a_new_cycle(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        connection_id, expires_at = linked(pipeline_database, sandbox)
        user_id = user_of(pipeline_database, connection_id)
        announce(pipeline_database, expires_at - timedelta(days=10))
        renewed = expires_at + timedelta(days=80)  # re-authorised eight days later for 90 days
        set_connection(pipeline_database, connection_id, expires_at=renewed)
        assert announce(pipeline_database, expires_at - timedelta(days=2)) == []  # the old end is no more
        made = announce(pipeline_database, renewed - timedelta(days=10))
        assert [(a.kind, a.ends_at) for a in made] == [(ConsentNoticeKind.expiring, renewed)]
        assert events(pipeline_database, user_id) == [("consent.expiring", "email")] * 2

    def test_old_ends_and_connections_never_linked_are_not_announced(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id, expires_at = linked(pipeline_database, sandbox)
        pending, _ = linked(pipeline_database, sandbox, customer="bob")
        set_connection(pipeline_database, pending, status=ConnectionStatus.pending)
        assert announce(pipeline_database, expires_at + timedelta(days=8)) == []  # ended over a week ago: history
        made = announce(pipeline_database, expires_at - timedelta(days=5))
        assert [a.connection_id for a in made] == [connection_id]  # pending: never a candidate
        assert events(pipeline_database, user_of(pipeline_database, pending)) == []

    def test_racing_evaluations_announce_once(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        connection_id, expires_at = linked(pipeline_database, sandbox)
        user_id = user_of(pipeline_database, connection_id)
        add_endpoints(pipeline_database, user_id, 1)
        now = expires_at - timedelta(days=10)
        start = threading.Barrier(4)
        made: list[list[Announcement]] = []

        def evaluate() -> None:
            start.wait()
            made.append(announce(pipeline_database, now))

        threads = [threading.Thread(target=evaluate) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(len(m) for m in made) == 1
        assert sorted(events(pipeline_database, user_id)) == [
            ("consent.expiring", "email"),
            ("consent.expiring", "webhook"),
        ]

    def test_a_failed_announcement_leaves_no_notice_and_is_made_at_the_next_evaluation(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        failing, expires_at = linked(pipeline_database, sandbox)
        fine, _ = linked(pipeline_database, sandbox, customer="bob")
        failing_user = user_of(pipeline_database, failing)

        def refuse_one(session: Session, *, user_id: uuid.UUID, **kwargs: Any) -> uuid.UUID:
            if user_id == failing_user:
                raise RuntimeError("the outbox refused")
            return enqueue(session, user_id=user_id, **kwargs)

        now = expires_at - timedelta(days=10)
        made = announce_consents(sessions(pipeline_database), now=now, enqueue=refuse_one)
        assert [a.connection_id for a in made] == [fine]
        assert rows(pipeline_database, "SELECT count(*) FROM consent_notices WHERE connection_id = :c", c=failing) == [
            (0,)
        ]
        assert [a.connection_id for a in announce(pipeline_database, now)] == [failing]
        assert events(pipeline_database, failing_user) == [("consent.expiring", "email")]

    def test_each_event_goes_to_its_own_user_only(self, pipeline_database: Engine, sandbox: SandboxControl) -> None:
        mine, expires_at = linked(pipeline_database, sandbox)
        theirs, _ = linked(pipeline_database, sandbox, customer="bob")
        add_endpoints(pipeline_database, user_of(pipeline_database, theirs), 1)
        set_connection(pipeline_database, theirs, expires_at=expires_at + timedelta(days=60))
        announce(pipeline_database, expires_at - timedelta(days=10))
        assert events(pipeline_database, user_of(pipeline_database, mine)) == [("consent.expiring", "email")]
        assert events(pipeline_database, user_of(pipeline_database, theirs)) == []


# -- clean-up: GoCardless -----------------------------------------------------------------------------------------
@pytest.fixture
def gc_provider(gocardless: GoCardlessClient) -> GoCardlessProvider:
    return GoCardlessProvider(gocardless)


def start_connect(engine: Engine, client: GoCardlessClient, *, user_id: uuid.UUID | None = None) -> uuid.UUID:
    """A pending connect as `POST /api/connections` leaves it: a requisition at the sandbox nobody consented to."""
    with unit_of_work(sessions(engine)) as session:
        if user_id is None:
            user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
            session.add(user)
            session.flush()
        else:
            user = session.get_one(User, user_id)
        view, _ = connection_service.create(
            session, client, user, institution_id=SANDBOX_BANK, friendly_name=None, allow_duplicate=True
        )
        return view.connection.id


def requisitions_of(engine: Engine, connection_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(id, status, gone) of the connection's requisitions, oldest first."""
    return rows(
        engine,
        "SELECT id, status, gone_at IS NOT NULL FROM gc_requisitions WHERE connection_id = :c"
        " ORDER BY first_seen_at, id",
        c=connection_id,
    )


def status_of(engine: Engine, connection_id: uuid.UUID) -> str:
    return str(rows(engine, "SELECT status FROM connections WHERE id = :c", c=connection_id)[0][0])


def gone_at_gocardless(client: GoCardlessClient, requisition_id: str) -> bool:
    try:
        client.get_requisition(requisition_id)
    except ResourceNotFoundError:
        return True
    return False


class TestCleanUpGoCardless:
    def test_a_connect_abandoned_for_a_day_is_deleted_and_rejected(
        self, pipeline_database: Engine, gocardless: GoCardlessClient, gc_provider: GoCardlessProvider
    ) -> None:
        connection_id = start_connect(pipeline_database, gocardless)
        [(requisition_id, _, _)] = requisitions_of(pipeline_database, connection_id)
        factory = sessions(pipeline_database)

        early = clean_up_consents(factory, gocardless=gc_provider, enablebanking=None, now=clock.now())
        assert early.requisitions_deleted == []  # the person may still be at the bank
        later = clock.now() + ABANDONED_AFTER + timedelta(minutes=1)
        result = clean_up_consents(factory, gocardless=gc_provider, enablebanking=None, now=later)

        assert result.requisitions_deleted == [requisition_id]
        assert result.connections_abandoned == [connection_id]
        assert gone_at_gocardless(gocardless, requisition_id)
        assert requisitions_of(pipeline_database, connection_id) == [(requisition_id, "CR", True)]
        assert status_of(pipeline_database, connection_id) == "rejected"
        again = clean_up_consents(factory, gocardless=gc_provider, enablebanking=None, now=later)
        assert again.requisitions_deleted == []

    def test_a_refused_connect_is_deleted(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        gocardless: GoCardlessClient,
        gc_provider: GoCardlessProvider,
    ) -> None:
        connection_id = start_connect(pipeline_database, gocardless)
        [(requisition_id, _, _)] = requisitions_of(pipeline_database, connection_id)
        sandbox.deny(requisition_id)
        with unit_of_work(sessions(pipeline_database)) as session:
            raw.store_requisition(
                session, Requisition.from_payload(gocardless.get_requisition(requisition_id).payload), connection_id
            )
            derive_connections(session, [connection_id])
        assert status_of(pipeline_database, connection_id) == "rejected"

        result = clean_up_consents(
            sessions(pipeline_database), gocardless=gc_provider, enablebanking=None, now=clock.now()
        )
        assert result.requisitions_deleted == [requisition_id]
        assert gone_at_gocardless(gocardless, requisition_id)
        assert status_of(pipeline_database, connection_id) == "rejected"

    def test_the_old_requisition_of_a_reauthorised_connection_is_deleted_and_one_in_progress_kept(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        gocardless: GoCardlessClient,
        gc_provider: GoCardlessProvider,
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        [(old_id, _, _)] = requisitions_of(pipeline_database, connection_id)
        renewed = Requisition.from_payload(sandbox.link(institution_id=SANDBOX_BANK))
        with unit_of_work(sessions(pipeline_database)) as session:
            raw.store_requisition(session, renewed, connection_id)
            session.execute(
                Connection.__table__.update().where(Connection.id == connection_id).values(requisition_id=renewed.id)
            )
        user_id = user_of(pipeline_database, connection_id)
        with unit_of_work(sessions(pipeline_database)) as session:  # a re-authorisation the person is giving now
            connection = session.get_one(Connection, connection_id)
            institution = session.get_one(Institution, SANDBOX_BANK)
            connection_service._start_consent(session, gocardless, connection, institution, make_current=False)
        in_progress = requisitions_of(pipeline_database, connection_id)[-1][0]

        result = clean_up_consents(
            sessions(pipeline_database), gocardless=gc_provider, enablebanking=None, now=clock.now()
        )
        assert result.requisitions_deleted == [old_id]
        assert gone_at_gocardless(gocardless, old_id)
        assert not gone_at_gocardless(gocardless, renewed.id)
        assert not gone_at_gocardless(gocardless, in_progress)
        assert [(r[0], r[2]) for r in requisitions_of(pipeline_database, connection_id)] == [
            (old_id, True),
            (renewed.id, False),
            (in_progress, False),
        ]
        assert status_of(pipeline_database, connection_id) == "active"
        assert user_id  # the connection is the user's still

    def test_a_failed_deletion_is_tried_again_and_a_404_counts_as_gone(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        gocardless: GoCardlessClient,
        gc_provider: GoCardlessProvider,
    ) -> None:
        first = start_connect(pipeline_database, gocardless)
        second = start_connect(pipeline_database, gocardless)
        [(first_req, _, _)] = requisitions_of(pipeline_database, first)
        [(second_req, _, _)] = requisitions_of(pipeline_database, second)
        gocardless.delete_requisition(second_req)  # deleted at GoCardless behind finsync's back: a 404 next
        later = clock.now() + ABANDONED_AFTER + timedelta(minutes=1)
        factory = sessions(pipeline_database)

        sandbox.set_faults(error_rate=1.0, error_status=503, path_prefix="/api/v2/requisitions/", methods=["DELETE"])
        failing = clean_up_consents(factory, gocardless=gc_provider, enablebanking=None, now=later)
        assert sorted(failing.failed) == sorted([first_req, second_req])
        assert failing.requisitions_deleted == []
        assert status_of(pipeline_database, first) == "pending"

        sandbox.clear_faults()
        result = clean_up_consents(factory, gocardless=gc_provider, enablebanking=None, now=later)
        assert sorted(result.requisitions_deleted) == sorted([first_req, second_req])
        assert result.failed == []
        assert gone_at_gocardless(gocardless, first_req)
        assert (status_of(pipeline_database, first), status_of(pipeline_database, second)) == ("rejected", "rejected")

    def test_no_call_is_started_once_the_time_budget_is_spent(
        self, pipeline_database: Engine, gocardless: GoCardlessClient, gc_provider: GoCardlessProvider
    ) -> None:
        connection_id = start_connect(pipeline_database, gocardless)
        later = clock.now() + ABANDONED_AFTER + timedelta(minutes=1)
        result = clean_up_consents(
            sessions(pipeline_database), gocardless=gc_provider, enablebanking=None, now=later, time_budget=timedelta(0)
        )
        assert (result.requisitions_deleted, result.failed) == ([], [])
        [(requisition_id, _, gone)] = requisitions_of(pipeline_database, connection_id)
        assert not gone
        assert not gone_at_gocardless(gocardless, requisition_id)


# -- clean-up: Enable Banking -------------------------------------------------------------------------------------
@pytest.fixture
def eb_client(enablebanking_sandbox_server: EnableBankingSandboxServer) -> Iterator[EnableBankingClient]:
    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        yield client


class TestCleanUpEnableBanking:
    def test_the_session_a_reauthorisation_replaced_is_ended(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
        consent(pipeline_database, enablebanking_sandbox, eb_client, connection_id)  # re-authorised
        with sessions(pipeline_database)() as session:
            old, new = session.scalars(
                select(EbSession.id)
                .where(EbSession.connection_id == connection_id)
                .order_by(EbSession.first_seen_at, EbSession.id)
            ).all()

        provider = EnableBankingProvider(eb_client)
        factory = sessions(pipeline_database)
        result = clean_up_consents(factory, gocardless=None, enablebanking=provider, now=clock.now())
        assert result.sessions_ended == [old]
        assert str(eb_client.get_session(old).status) in ("CLOSED", "SessionStatus.CLOSED")
        assert str(eb_client.get_session(new).status) in ("AUTHORIZED", "SessionStatus.AUTHORIZED")
        ended = rows(pipeline_database, "SELECT id, ended_reason FROM eb_sessions WHERE ended_at IS NOT NULL")
        assert ended == [(old, "superseded")]
        assert status_of(pipeline_database, connection_id) == "active"
        assert clean_up_consents(factory, gocardless=None, enablebanking=provider, now=clock.now()).sessions_ended == []

    def test_a_connect_abandoned_for_a_day_is_rejected(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
        with unit_of_work(sessions(pipeline_database)) as session:  # a second connect of the same user, left
            first = session.get_one(Connection, connection_id)
            pending = Connection(
                user_id=first.user_id,
                provider=Provider.enablebanking,
                institution_id=first.institution_id,
                status=ConnectionStatus.pending,
            )
            session.add(pending)
            session.flush()
            start_consent(session, eb_client, pending, session.get_one(Institution, first.institution_id))
            pending_id = pending.id
        provider = EnableBankingProvider(eb_client)
        factory = sessions(pipeline_database)

        assert clean_up_consents(factory, gocardless=None, enablebanking=provider, now=clock.now()) == (
            consents.CleanUp()
        )
        later = clock.now() + ABANDONED_AFTER + timedelta(minutes=1)
        result = clean_up_consents(factory, gocardless=None, enablebanking=provider, now=later)
        assert result.connections_abandoned == [pending_id]
        assert status_of(pipeline_database, pending_id) == "rejected"
        assert status_of(pipeline_database, connection_id) == "active"


# -- the month's requisitions -------------------------------------------------------------------------------------
class TestRequisitionsThisMonth:
    def test_counts_this_calendar_months_requisitions(
        self, pipeline_database: Engine, sandbox: SandboxControl, caplog: pytest.LogCaptureFixture
    ) -> None:
        for customer in ("alice", "bob", "carol"):
            connect_sandbox(pipeline_database, sandbox, customer=customer)
        now = clock.now()
        with unit_of_work(sessions(pipeline_database)) as session:
            oldest = session.scalars(select(GcRequisition.id).order_by(GcRequisition.first_seen_at).limit(1)).one()
            session.execute(
                text("UPDATE gc_requisitions SET first_seen_at = :t WHERE id = :r"),
                {"t": consents.month_start(now) - timedelta(seconds=1), "r": oldest},
            )
        with sessions(pipeline_database)() as session:
            assert requisitions_this_month(session, now=now) == 2
            assert requisitions_this_month(session, now=consents.month_start(now) - timedelta(seconds=1)) == 1
            next_month = (consents.month_start(now) + timedelta(days=32)).replace(day=1)
            assert requisitions_this_month(session, now=next_month) == 0

    def test_each_requisition_past_80_percent_logs_a_warning(
        self, pipeline_database: Engine, gocardless: GoCardlessClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        user_id = user_of(pipeline_database, start_connect(pipeline_database, gocardless))
        with unit_of_work(sessions(pipeline_database)) as session:  # 40 more this month: 41 in all, past 40
            session.execute(
                text(
                    "INSERT INTO gc_requisitions (id, reference, status, payload)"
                    " SELECT 'old-' || n, 'ref-' || n, 'EX', '{}'::jsonb FROM generate_series(1, 40) n"
                )
            )
        caplog.clear()
        with caplog.at_level("WARNING", logger="src.ingest.consents"):
            start_connect(pipeline_database, gocardless, user_id=user_id)
        warnings = [r for r in caplog.records if r.name == "src.ingest.consents"]
        assert len(warnings) == 1
        assert warnings[0].requisitions_this_month == 42  # type: ignore[attr-defined]
        assert warnings[0].monthly_allowance == 50  # type: ignore[attr-defined]
