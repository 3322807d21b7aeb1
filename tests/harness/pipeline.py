"""Helpers for tests that run the GoCardless assets in-process against a database of their own and the sandbox.

Assets commit per account, so they cannot run inside a test's rolled-back transaction: `pipeline_database`
(tests/conftest.py) points the process's engine at a fresh clone for the test, and `connect_sandbox` stores a
connection the way the bank callback will (the connection row, its requisition and agreement, raw).
"""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Engine, text

from src.db import unit_of_work
from src.ingest import raw
from src.models import Connection, Institution, User
from src.models.enums import ConnectionStatus
from src.orchestration.gocardless.config import extract_key, sync_key
from src.orchestration.gocardless.definitions import BALANCE_DRIFT_OP, CONNECTION_ASSET_KEYS
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS
from src.orchestration.resources import GoCardlessResource, PostgresDatabase
from src.providers.gocardless.client import GoCardlessClient
from tests.harness.sandbox import SandboxControl

SYNC_KEYS = [sync_key("connections"), sync_key("accounts"), sync_key("transactions"), sync_key("balances")]


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
    """A user with an active sandbox connection, stored as the callback stores it; returns the connection id."""
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
    from sqlalchemy.orm import sessionmaker

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


def resources(sandbox: SandboxControl) -> dict[str, Any]:
    database = PostgresDatabase()
    return {
        "postgres_database": database,
        "gocardless_api": GoCardlessResource(database=database, base_url=sandbox.base_url),
    }


def run_assets(
    sandbox: SandboxControl,
    keys: Sequence[dg.AssetKey] = CONNECTION_ASSET_KEYS,
    *,
    connection_id: uuid.UUID | str | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize `keys` (and the drift check) in this process, scoped to `connection_id` when given."""
    ops: Iterable[str] = ["__".join(key.path) for key in keys]
    if sync_key("balances") in keys:
        ops = [*ops, BALANCE_DRIFT_OP]
    run_config = (
        {"ops": {op: {"config": {"connection_id": str(connection_id)}} for op in ops}} if connection_id else None
    )
    return dg.materialize(
        [*EXTRACTION_ASSETS, *SYNC_ASSETS, *SYNC_CHECKS],
        selection=list(keys),
        resources=resources(sandbox),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


__all__ = ["SYNC_KEYS", "connect_sandbox", "extract_key", "resources", "rows", "run_assets", "sync_key"]
