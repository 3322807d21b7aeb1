"""Bring a sandbox connection in the way the GoCardless assets do, without Dagster: for the tests of `src/ingest`.

`Ingest.sync(connection_id)` is one connection-scoped run of the connection job, step for step: the requisition
refreshed, then account details, balances and transactions extracted from the sandbox over HTTP (a real
GoCardlessClient, built as the Dagster resource builds it), then connections, accounts, transactions (with each
account's outcome) and balances derived, each in the unit of work the asset opens. Every step commits on a
sessionmaker bound to the test's own database (`pipeline_database`), so what a test reads afterwards is what a run
would have left behind. A sync stands for a run: its id tags the fetch outcomes and the `sync_outcomes` rows, as a
Dagster run id does. Dagster's own part (asset keys, run config, scope, run failure) is tested in tests/orchestration.

`connect_sandbox` stores a sandbox connection as the bank callback stores it, and `rows` reads the result back: the
tests of `src/ingest` and the orchestration tests (which materialise the assets, tests/harness/pipeline.py) start
from both. Nothing here imports Dagster.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from src.db import unit_of_work
from src.ingest import balances, drift, extraction, outcomes, raw
from src.ingest.accounts import account_ids_of, derive_accounts
from src.ingest.connections import derive_connections
from src.ingest.extraction import ExtractResult
from src.ingest.transactions import SyncCounts, sync_account_transactions
from src.integrations.gocardless import build_gocardless_client
from src.models import Connection, Institution, User
from src.models.enums import ConnectionStatus, GcScope
from src.providers.gocardless.client import GoCardlessClient
from src.settings import settings
from tests.harness.sandbox import SandboxControl

# The connection job's extraction assets after `requisitions`, in the order their dependencies run them.
ACCOUNT_SCOPES = (GcScope.details, GcScope.balances, GcScope.transactions)

# EXTRACT_CONCURRENCY's default: the accounts fetched at once.
CONCURRENCY = 8

Listing = tuple[list[dict[str, Any]], list[dict[str, Any]]]
Found = TypeVar("Found")


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    """The rows of one SQL query against `engine`, as plain tuples."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def connect_sandbox(
    engine: Engine,
    sandbox: SandboxControl,
    *,
    customer: str = "alice",
    account_count: int | None = None,
    institution_id: str = "SANDBOXFINANCE_SFIN0000",
    max_historical_days: int = 90,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A user with an active sandbox connection, stored as the callback stores it (the connection row, its
    requisition and agreement, raw); returns the connection id. With `user_id`, the connection is that user's."""
    options: dict[str, Any] = {
        "customer": customer,
        "institution_id": institution_id,
        "max_historical_days": max_historical_days,
    }
    if account_count is not None:
        options["account_count"] = account_count
    linked = sandbox.link(**options)
    with GoCardlessClient(
        base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
    ) as client:
        requisition = client.get_requisition(linked["id"])
        agreement = client.get_agreement(str(requisition.agreement))
    with unit_of_work(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        if user_id is None:
            user = User(email=f"{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
            session.add(user)
            session.flush()
            user_id = user.id
        if session.get(Institution, institution_id) is None:
            session.add(Institution(id=institution_id, name=institution_id, countries=["GB"]))
            session.flush()
        connection = Connection(
            user_id=user_id,
            institution_id=institution_id,
            status=ConnectionStatus.active,
            requisition_id=requisition.id,
        )
        session.add(connection)
        session.flush()
        raw.store_agreement(session, agreement, connection.id)
        raw.store_requisition(session, requisition, connection.id)
        return connection.id


@dataclass
class Ingest:
    """Extraction and derivations of one connection at a time, on the test's database and the sandbox."""

    sessions: sessionmaker[Session]
    client: GoCardlessClient
    concurrency: int
    overlap_days: int

    def sync(self, connection_id: uuid.UUID) -> str:
        """Extract, then derive, as one run of the connection job; returns the run's id."""
        run_id = str(uuid.uuid4())
        self.extract(connection_id, run_id)
        self.derive(connection_id, run_id)
        return run_id

    def extract(self, connection_id: uuid.UUID, run_id: str | None = None) -> dict[GcScope, list[ExtractResult]]:
        """GoCardless → raw tables: the requisition, then each account scope (targets read afresh per scope, as
        each extraction asset reads them)."""
        run_id = run_id or str(uuid.uuid4())
        scope = [connection_id]
        extraction.extract_requisitions(self.sessions, self.client, scope)
        results: dict[GcScope, list[ExtractResult]] = {}
        for account_scope in ACCOUNT_SCOPES:
            with self.sessions() as session:
                targets = extraction.account_targets(session, scope)
            results[account_scope] = extraction.extract_scope(
                self.sessions,
                self.client,
                targets,
                account_scope,
                concurrency=self.concurrency,
                overlap_days=self.overlap_days,
                run_id=run_id,
            )
        return results

    def derive(self, connection_id: uuid.UUID, run_id: str | None = None) -> dict[uuid.UUID, SyncCounts]:
        """Raw tables → unified tables, with no bank call: the four sync assets' work, one unit of work each, and
        one per account for transactions (with the run's outcome) and for balances. Without a run id it is a
        sync-only run of its own."""
        run_id = run_id or str(uuid.uuid4())
        scope = [connection_id]
        with unit_of_work(self.sessions) as session:
            derive_connections(session, scope)
        with unit_of_work(self.sessions) as session:
            derive_accounts(session, scope)
            derive_connections(session, scope)  # account access states feed the connection's status
        account_ids = self.account_ids(connection_id)
        counts: dict[uuid.UUID, SyncCounts] = {}
        for account_id in account_ids:
            with unit_of_work(self.sessions) as session:
                counts[account_id] = sync_account_transactions(session, account_id)
                outcomes.record_outcome(session, run_id, account_id, counts[account_id])
        for account_id in account_ids:
            with unit_of_work(self.sessions) as session:
                balances.derive_balances(session, [account_id])
        return counts

    def account_ids(self, connection_id: uuid.UUID) -> list[uuid.UUID]:
        with self.sessions() as session:
            return account_ids_of(session, [connection_id])

    def drifts(self, connection_id: uuid.UUID) -> list[drift.Drift]:
        """The balance drift check's finding for the connection's accounts (empty: every account agrees)."""
        account_ids = self.account_ids(connection_id)
        with self.sessions() as session:
            return drift.balance_drifts(session, account_ids)


@contextmanager
def ingest_into(engine: Engine, sandbox: SandboxControl, *, concurrency: int = CONCURRENCY) -> Iterator[Ingest]:
    """An `Ingest` on `engine`'s database whose client talks to the sandbox: the client is built from Settings as
    the Dagster resource builds it (its token pair shared through the database, a pool of twice the concurrency)."""
    config = settings.model_copy(update={"gocardless_base_url": sandbox.base_url})
    client = build_gocardless_client(config, engine, max_connections=max(concurrency * 2, 4))
    try:
        yield Ingest(
            sessions=sessionmaker(bind=engine, expire_on_commit=False),
            client=client,
            concurrency=concurrency,
            overlap_days=settings.sync_overlap_days,
        )
    finally:
        client.close()


def bank_lists(sandbox: SandboxControl, gc_account_id: str) -> Listing:
    """What the bank lists for the account now, (booked, pending), read over HTTP by a client of its own. Each read
    spends one of the account's daily transactions calls."""
    with GoCardlessClient(
        base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
    ) as client:
        listed = client.get_account_transactions(gc_account_id)
    return listed.transactions.booked, listed.transactions.pending


def advance_until(
    sandbox: SandboxControl,
    gc_account_ids: Sequence[str],
    find: Callable[[list[dict[str, Any]], list[dict[str, Any]]], Found | None],
    *,
    max_days: int = 30,
) -> tuple[str, Found]:
    """The first account (and what `find` found in its listing) whose bank lists what the test needs, moving the
    sandbox's clock on a day at a time until one does. The sandbox's history is seeded per day, so a scene that
    needs, say, a pending item with an id would otherwise hold on some days only; this way it holds on every day.
    `find(booked, pending)` answers the thing wanted, or None."""
    for _ in range(max_days + 1):
        for gc_account_id in gc_account_ids:
            found = find(*bank_lists(sandbox, gc_account_id))
            if found is not None:
                return gc_account_id, found
        sandbox.advance_clock(days=1)
    raise AssertionError(f"the sandbox listed nothing the test needs within {max_days} days")


def booked_with_id_after(day: str) -> Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any] | None]:
    """For `advance_until`: a booked item with a transactionId, booked after `day` (ISO date)."""

    def find(booked: list[dict[str, Any]], pending: list[dict[str, Any]]) -> dict[str, Any] | None:
        return next((t for t in booked if t.get("transactionId") and str(t.get("bookingDate", "")) > day), None)

    return find
