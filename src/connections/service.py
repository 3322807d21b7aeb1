"""Connections: a user's link to one bank. Creating one asks GoCardless for an end-user agreement and a
requisition and hands back the bank's consent link; the bank callback then derives the connection and its
accounts through `src.ingest`, the same code the sync assets use. The callback's endpoint starts the first sync
(through the jobs service) once the connection is linked: this domain sits above jobs, never the other way round.

Every lookup goes through the owner: another user's connection answers 404, never 403. Reads answer domain
objects (`ConnectionView`, or the row itself); `schemas.py` shapes them for the API.
"""

import logging
import math
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from src import clock
from src.connections import enablebanking as eb_consent
from src.connections.callbacks import CallbackOutcome, CallbackResult
from src.connections.exceptions import (
    ConnectionExistsError,
    ConnectionNotFoundError,
    ConnectionNotReauthorisableError,
)
from src.ingest import raw
from src.ingest.accounts import derive_accounts
from src.ingest.allowances import connection_plans
from src.ingest.connections import derive_connections
from src.ingest.consents import warn_when_allowance_runs_short
from src.ingest.quota import ConnectionPlan
from src.institutions.service import institution as institution_service
from src.integrations.providers import api_error, bank_of
from src.models import Account, Connection, EbAccount, EbSession, GcAccount, GcRequisition, Institution, User
from src.models.connections import currently_active, effective_status
from src.models.enums import ConnectionStatus, GcRequisitionStatus, Provider
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.models import Agreement, Requisition
from src.providers.gocardless.seam import GoCardlessProvider
from src.providers.seam import ProviderError
from src.settings import settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionView:
    """A connection as its owner sees it: the row, its bank, how many accounts it feeds, and its status, days
    left and "expiring soon" as of the moment it was read (`src/connections/schemas.py` shapes it for the API)."""

    connection: Connection
    institution: Institution
    account_count: int
    status: ConnectionStatus
    days_left: int | None
    expiring_soon: bool
    plan: ConnectionPlan | None = None
    """The background sync's plan for an active connection (calls left, next sync); None otherwise."""


def callback_url() -> str:
    return f"{settings.public_base_url}/api/connections/callback"


class ConnectionService:
    # -- reading ----------------------------------------------------------------------------------------------------
    def _views(self, session: Session, user: User, connection_id: uuid.UUID | None = None) -> list[ConnectionView]:
        # The accounts the connection owns, and those it feeds that another of the user's connections created
        # first (the same bank account connected twice is one account).
        # Each part correlated with the outer connection: an uncorrelated part would count every connection's.
        fed_by_gocardless = (
            select(GcAccount.account_id)
            .join(GcRequisition, GcRequisition.id == GcAccount.requisition_id)
            .where(GcRequisition.connection_id == Connection.id, GcAccount.account_id.is_not(None))
            .correlate(Connection)
        )
        fed_by_enablebanking = (
            select(EbAccount.account_id)
            .join(EbSession, EbSession.id == EbAccount.session_id)
            .where(EbSession.connection_id == Connection.id, EbAccount.account_id.is_not(None))
            .correlate(Connection)
        )
        accounts = (
            select(func.count(Account.id))
            .where(
                (Account.connection_id == Connection.id)
                | Account.id.in_(fed_by_gocardless)
                | Account.id.in_(fed_by_enablebanking)
            )
            .correlate(Connection)
        ).scalar_subquery()
        statement = (
            select(Connection, Institution, accounts)
            .join(Institution, Institution.id == Connection.institution_id)
            .where(Connection.user_id == user.id)
            .order_by(Connection.created_at.desc(), Connection.id)
        )
        if connection_id is not None:
            statement = statement.where(Connection.id == connection_id)
        now = datetime.now(UTC)
        views = [self._view(c, i, int(n), now) for c, i, n in session.execute(statement)]
        active = [view.connection.id for view in views if view.status is ConnectionStatus.active]
        plans = connection_plans(session, active, clock.now()) if active else {}
        return [replace(view, plan=plans.get(view.connection.id)) for view in views]

    @staticmethod
    def _view(connection: Connection, institution: Institution, account_count: int, now: datetime) -> ConnectionView:
        status = effective_status(connection, now)
        days_left: int | None = None
        if connection.expires_at is not None:
            days_left = max(0, math.floor((connection.expires_at - now).total_seconds() / 86_400))
        expiring = (
            status is ConnectionStatus.active and days_left is not None and days_left <= settings.expiring_soon_days
        )
        return ConnectionView(connection, institution, account_count, status, days_left, expiring)

    def list_for(self, session: Session, user: User) -> list[ConnectionView]:
        return self._views(session, user)

    def get(self, session: Session, user: User, connection_id: uuid.UUID) -> ConnectionView:
        views = self._views(session, user, connection_id)
        if not views:
            raise ConnectionNotFoundError("There is no such connection.")
        return views[0]

    @staticmethod
    def owned(session: Session, user: User, connection_id: uuid.UUID) -> Connection:
        """The user's connection, or 404 (another user's id included)."""
        connection = session.scalar(
            select(Connection).where(Connection.id == connection_id, Connection.user_id == user.id)
        )
        if connection is None:
            raise ConnectionNotFoundError("There is no such connection.")
        return connection

    @staticmethod
    def owned_or_none(session: Session, user: User, connection_id: uuid.UUID) -> Connection | None:
        return session.scalar(select(Connection).where(Connection.id == connection_id, Connection.user_id == user.id))

    @staticmethod
    def syncable(session: Session, user: User) -> list[Connection]:
        """The user's connections a sync may run for, oldest first: those `currently_active()` (the SQL form of
        "effective status is active", the one rule Sync now checks on its single row)."""
        return list(
            session.scalars(
                select(Connection)
                .where(Connection.user_id == user.id, currently_active())
                .order_by(Connection.created_at, Connection.id)
            )
        )

    # -- changing ---------------------------------------------------------------------------------------------------
    def create(
        self,
        session: Session,
        client: GoCardlessClient,
        user: User,
        *,
        institution_id: str,
        friendly_name: str | None,
        allow_duplicate: bool = False,
        enablebanking: EnableBankingClient | None = None,
    ) -> tuple[ConnectionView, str]:
        """A pending connection to the institution's provider, and the consent link to send the person to."""
        institution = institution_service.get_or_fetch(session, client, institution_id, enablebanking)
        if not allow_duplicate:
            self._refuse_a_second_connection(session, user, institution)
        connection = Connection(
            user_id=user.id,
            provider=institution.provider,
            institution_id=institution.id,
            friendly_name=(friendly_name or "").strip() or None,
            status=ConnectionStatus.pending,
        )
        session.add(connection)
        session.flush()
        link = self._consent(session, client, enablebanking, connection, institution, make_current=True)
        log.info("connection created", extra={"connection_id": str(connection.id), "user_id": str(user.id)})
        return self.get(session, user, connection.id), link

    def _refuse_a_second_connection(self, session: Session, user: User, institution: Institution) -> None:
        """Connecting a bank the user already has would show the same accounts twice: point at the connection to
        renew instead (no bank call is made). `allow_duplicate` goes ahead; accounts then stay one by IBAN."""
        existing = session.scalar(
            select(Connection)
            .where(Connection.user_id == user.id, Connection.institution_id == institution.id)
            .order_by(Connection.created_at.desc(), Connection.id)
            .limit(1)
        )
        if existing is None:
            return
        view = self._view(existing, institution, 0, datetime.now(UTC))
        if view.status is ConnectionStatus.active and not view.expiring_soon:
            advice = "It is active: use Sync now to refresh it."
        elif view.status is ConnectionStatus.pending:
            advice = "It is still waiting for your consent at the bank: finish or delete it."
        else:
            advice = "Re-authorise it to renew its consent."
        raise ConnectionExistsError(
            f"You already have a connection to {institution.name}. {advice}",
            extra={"connection_id": str(existing.id), "connection_status": view.status.value},
        )

    def update(
        self, session: Session, user: User, connection_id: uuid.UUID, *, friendly_name: str | None
    ) -> ConnectionView:
        connection = self.owned(session, user, connection_id)
        connection.friendly_name = (friendly_name or "").strip() or None
        session.flush()
        return self.get(session, user, connection_id)

    def delete(
        self,
        session: Session,
        client: GoCardlessClient,
        user: User,
        connection_id: uuid.UUID,
        enablebanking: EnableBankingClient | None = None,
    ) -> None:
        """End the consent at the provider (GoCardless: delete the requisitions, which deletes their agreements;
        Enable Banking: end the sessions), then delete everything here."""
        connection = self.owned(session, user, connection_id)
        if connection.provider is Provider.enablebanking:
            eb_consent.end_consents(session, _required(enablebanking), connection)
            session.execute(delete(Connection).where(Connection.id == connection.id))
            log.info("connection deleted", extra={"connection_id": str(connection.id), "user_id": str(user.id)})
            return
        requisition_ids = session.scalars(
            select(GcRequisition.id).where(GcRequisition.connection_id == connection.id)
        ).all()
        provider = GoCardlessProvider(client)
        for requisition_id in requisition_ids:
            try:
                provider.end_consent(requisition_id)  # one already gone at GoCardless is left at that
            except ProviderError as exc:
                if requisition_id == connection.requisition_id:
                    raise api_error(exc) from exc
                log.warning(
                    "old requisition not deleted at GoCardless",
                    extra={"connection_id": str(connection.id), "requisition_id": requisition_id},
                )
        session.execute(delete(Connection).where(Connection.id == connection.id))
        log.info("connection deleted", extra={"connection_id": str(connection.id), "user_id": str(user.id)})

    def reauthorise(
        self,
        session: Session,
        client: GoCardlessClient,
        user: User,
        connection_id: uuid.UUID,
        enablebanking: EnableBankingClient | None = None,
    ) -> tuple[ConnectionView, str]:
        """A new agreement and requisition for an expired or expiring connection. The current requisition
        stays current until the user consents, so a refusal at the bank leaves the connection as it was."""
        view = self.get(session, user, connection_id)
        if view.status in (ConnectionStatus.pending,) or (
            view.status is ConnectionStatus.active and not view.expiring_soon
        ):
            raise ConnectionNotReauthorisableError(
                "This connection does not need re-authorising yet"
                if view.status is ConnectionStatus.active
                else "This connection is still waiting for the bank's consent."
            )
        connection = self.owned(session, user, connection_id)
        institution = institution_service.get_or_fetch(session, client, connection.institution_id, enablebanking)
        link = self._consent(session, client, enablebanking, connection, institution, make_current=False)
        log.info("connection re-authorisation started", extra={"connection_id": str(connection.id)})
        return self.get(session, user, connection_id), link

    def _consent(
        self,
        session: Session,
        client: GoCardlessClient,
        enablebanking: EnableBankingClient | None,
        connection: Connection,
        institution: Institution,
        *,
        make_current: bool,
    ) -> str:
        """The consent link at the connection's provider. (Enable Banking needs no "current" marker: the newest
        session is current, and a session exists only once the person consented.)"""
        if connection.provider is Provider.enablebanking:
            return eb_consent.start_consent(session, _required(enablebanking), connection, institution)
        return self._start_consent(session, client, connection, institution, make_current=make_current)

    def _start_consent(
        self,
        session: Session,
        client: GoCardlessClient,
        connection: Connection,
        institution: Institution,
        *,
        make_current: bool,
    ) -> str:
        """An agreement and a requisition at GoCardless, through the provider seam (the bank's announced history and
        access days, GoCardless's defaults when it refuses them); both stored raw. The reference is the callback's
        capability: random, single use."""
        try:
            started = GoCardlessProvider(client).start_consent(
                bank_of(institution), redirect_url=callback_url(), state=secrets.token_urlsafe(32)
            )
        except ProviderError as exc:
            raise api_error(exc) from exc
        raw.store_agreement(session, Agreement.from_payload(dict(started.payloads["agreement"])), connection.id)
        raw.store_requisition(session, Requisition.from_payload(dict(started.payloads["requisition"])), connection.id)
        if make_current:
            connection.requisition_id = started.reference
        session.flush()
        warn_when_allowance_runs_short(session, now=clock.now(), connection_id=connection.id)
        return started.url

    # -- the bank callback ------------------------------------------------------------------------------------------
    def complete_callback(
        self, session: Session, client: GoCardlessClient, *, reference: str, bank_error: str | None
    ) -> CallbackResult:
        """The bank sent the user back. The reference is the capability and is used once; a GoCardless failure
        leaves it unused, so reloading the page tries again. Outcome `active`: the connection is linked and its
        first sync may start."""
        stored = session.scalar(select(GcRequisition).where(GcRequisition.reference == reference).with_for_update())
        if stored is None or stored.connection_id is None:
            return CallbackResult(CallbackOutcome.error, None, "unknown_reference")
        connection = session.get(Connection, stored.connection_id)
        if connection is None:
            return CallbackResult(CallbackOutcome.error, None, "unknown_reference")
        if stored.callback_completed_at is not None:
            return CallbackResult(CallbackOutcome.error, connection, "already_used")
        context = {"connection_id": str(connection.id), "requisition_id": stored.id}
        try:
            # The requisition, its agreement and each account's metadata (IBAN, status: re-authorised accounts find
            # their old selves by it; it spends no daily quota), through the seam.
            consent = GoCardlessProvider(client).complete_consent(reference=stored.id)
        except ProviderError as exc:
            log.warning("callback could not reach GoCardless", extra={**context, "error": type(exc).__name__})
            return CallbackResult(CallbackOutcome.error, connection, "gocardless_unavailable")
        requisition = Requisition.from_payload(dict(consent.payloads["requisition"]))
        if "agreement" in consent.payloads:
            raw.store_agreement(session, Agreement.from_payload(dict(consent.payloads["agreement"])), connection.id)
        raw.store_requisition(session, requisition, connection.id)
        for account in consent.accounts:
            raw.store_account_payloads(session, account.id, metadata=dict(account.payload))
        linked = requisition.status == GcRequisitionStatus.linked
        if (
            linked
            or connection.requisition_id in (None, requisition.id)
            or connection.status is ConnectionStatus.pending
        ):
            connection.requisition_id = requisition.id
        stored.callback_completed_at = datetime.now(UTC)
        session.flush()
        derive_accounts(session, [connection.id])
        derive_connections(session, [connection.id])
        session.expire(connection)  # the derivations wrote it with SQL: reload before anyone reads it
        if not linked:
            log.info("consent refused at the bank", extra={**context, "bank_error": bank_error})
            return CallbackResult(CallbackOutcome.rejected, connection, bank_error or "consent_refused")
        log.info("connection linked", extra={**context, "accounts": len(requisition.accounts)})
        return CallbackResult(CallbackOutcome.active, connection)


def _required(enablebanking: EnableBankingClient | None) -> EnableBankingClient:
    if enablebanking is None:  # pragma: no cover - the endpoints always pass it
        raise RuntimeError("an Enable Banking connection needs the Enable Banking client")
    return enablebanking


connection = ConnectionService()
