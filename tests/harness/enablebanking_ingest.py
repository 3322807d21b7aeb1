"""Bring an Enable Banking sandbox connection in the way the Enable Banking assets do, without Dagster.

`connect_enablebanking` goes through finsync's own consent flow (src/connections/enablebanking.py): the bank list
stored and derived, a pending connection, `POST /auth`, the sandbox's consent approved as a test customer, and the
redirect's code completed into a session. `EbIngest.sync` is then one run of the connection job, step for step:
the session refreshed, details, balances and transactions extracted over HTTP, connections, accounts,
transactions (with each account's outcome) and balances derived, each in the unit of work its asset opens.
`bank_listing` reads what the bank lists now, with PSU headers (an attended read: it spends no quota).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from src.connections.enablebanking import complete_consent, start_consent
from src.db import unit_of_work
from src.ingest import balances, outcomes
from src.ingest.accounts import account_ids_of
from src.ingest.enablebanking import extraction
from src.ingest.enablebanking import raw as eb_raw
from src.ingest.enablebanking.accounts import derive_accounts
from src.ingest.enablebanking.connections import derive_connections
from src.ingest.enablebanking.ids import aspsp_institution_id
from src.ingest.enablebanking.institutions import derive_institutions
from src.ingest.enablebanking.transactions import ENABLEBANKING
from src.ingest.extraction import ExtractResult
from src.ingest.transactions import SyncCounts, sync_account_transactions
from src.models import Connection, EbAuthorization, Institution, User
from src.models.enums import ConnectionStatus, GcScope, Provider
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.psu import PsuContext
from src.providers.enablebanking.redirect import read_redirect
from tests.harness.enablebanking import EnableBankingSandboxControl

SCOPES = (GcScope.details, GcScope.balances, GcScope.transactions)
PERSON = PsuContext(ip_address="203.0.113.7", user_agent="Mozilla/5.0 (finsync tests)")


def sessions_on(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def new_user(engine: Engine) -> uuid.UUID:
    with unit_of_work(sessions_on(engine)) as session:
        user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        return user.id


def consent(
    engine: Engine,
    control: EnableBankingSandboxControl,
    client: EnableBankingClient,
    connection_id: uuid.UUID,
    *,
    customer: str = "alice",
) -> None:
    """One consent round for an existing connection: `POST /auth`, approved at the sandbox as `customer`, and the
    redirect completed (as the callback does)."""
    factory = sessions_on(engine)
    with unit_of_work(factory) as session:
        connection = session.get(Connection, connection_id)
        assert connection is not None
        institution = session.get(Institution, connection.institution_id)
        assert institution is not None
        start_consent(session, client, connection, institution)
        authorization_id = session.scalar(
            select(EbAuthorization.id)
            .where(EbAuthorization.connection_id == connection_id, EbAuthorization.callback_completed_at.is_(None))
            .order_by(EbAuthorization.first_seen_at.desc())
            .limit(1)
        )
    assert authorization_id is not None
    redirect = read_redirect(control.approve(authorization_id, customer=customer))
    with unit_of_work(factory) as session:
        result = complete_consent(
            session, client, state=redirect.state, authorization_code=redirect.code, bank_error=redirect.error
        )
        assert result.linked, result


def connect_enablebanking(
    engine: Engine,
    control: EnableBankingSandboxControl,
    client: EnableBankingClient,
    *,
    aspsp: tuple[str, str] = ("Mock ASPSP", "FI"),
    customer: str = "alice",
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A user (new unless given) with a linked Enable Banking sandbox connection; returns the connection id."""
    name, country = aspsp
    factory = sessions_on(engine)
    user_id = user_id or new_user(engine)
    with unit_of_work(factory) as session:
        derive_institutions(session, eb_raw.store_aspsp_list(session, country, client.list_aspsps(country)))
        connection = Connection(
            user_id=user_id,
            provider=Provider.enablebanking,
            institution_id=aspsp_institution_id(name, country),
            status=ConnectionStatus.pending,
        )
        session.add(connection)
        session.flush()
        connection_id = connection.id
    consent(engine, control, client, connection_id, customer=customer)
    return connection_id


@dataclass
class EbIngest:
    """Extraction and derivations of one Enable Banking connection at a time, on the test's database."""

    sessions: sessionmaker[Session]
    client: EnableBankingClient
    concurrency: int = 4
    overlap_days: int = 10

    def sync(self, connection_id: uuid.UUID, *, psu: PsuContext | None = None) -> str:
        run_id = str(uuid.uuid4())
        self.extract(connection_id, run_id, psu=psu)
        self.derive(connection_id, run_id)
        return run_id

    def extract(
        self, connection_id: uuid.UUID, run_id: str | None = None, *, psu: PsuContext | None = None
    ) -> dict[GcScope, list[ExtractResult]]:
        extraction.refresh_sessions(self.sessions, self.client, [connection_id])
        results = {}
        for scope in SCOPES:
            with self.sessions() as session:
                targets = extraction.account_targets(session, [connection_id])
            results[scope] = extraction.extract_scope(
                self.sessions,
                self.client,
                targets,
                scope,
                concurrency=self.concurrency,
                overlap_days=self.overlap_days,
                run_id=run_id,
                psu=psu,
            )
        return results

    def derive(self, connection_id: uuid.UUID, run_id: str | None = None) -> dict[uuid.UUID, SyncCounts]:
        run_id = run_id or str(uuid.uuid4())
        with unit_of_work(self.sessions) as session:
            derive_connections(session, [connection_id])
        with unit_of_work(self.sessions) as session:
            derive_accounts(session, [connection_id])
            derive_connections(session, [connection_id])
        counts = {}
        for account_id in self.account_ids(connection_id):
            with unit_of_work(self.sessions) as session:
                counts[account_id] = sync_account_transactions(session, account_id, ENABLEBANKING)
                outcomes.record_outcome(session, run_id, account_id, counts[account_id])
            with unit_of_work(self.sessions) as session:
                balances.derive_balances(session, [account_id])
        return counts

    def account_ids(self, connection_id: uuid.UUID) -> list[uuid.UUID]:
        with self.sessions() as session:
            return account_ids_of(session, [connection_id])


def bank_listing(client: EnableBankingClient, uid: str) -> list[dict[str, Any]]:
    """Every transaction the bank lists for the account now (an attended read: no quota spent)."""
    return [t.payload for t in client.account_transactions(uid, psu=PERSON).transactions]


def booked_sums(items: list[dict[str, Any]], since: str = "") -> tuple[int, dict[str, Decimal]]:
    """(count, signed sum per currency) of the booked items of a bank listing, booked on `since` (ISO) or later."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    for item in items:
        if item.get("status") != "BOOK" or str(item.get("booking_date") or "") < since:
            continue
        amount = abs(Decimal(str(item["transaction_amount"]["amount"])))
        sums[item["transaction_amount"]["currency"].upper()] += (
            -amount if item.get("credit_debit_indicator") == "DBIT" else amount
        )
        count += 1
    return count, dict(sums)
