"""The bank callback starts a linked connection's first sync itself, through the API's Dagster client (injected like
every endpoint's, so a test's own client is the one asked), and carries the job's id back to the frontend. A
connection whose accounts have no call left is linked all the same, without a sync.

Dagster here is a real loopback server that accepts and never answers (the job stays `pending`, as with Dagster
down); the live first sync, run to the end, is in tests/jobs/test_sync_live.py.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from src.models import GcRequisition, Job
from src.models.enums import GcScope, JobStatus
from src.providers.dagster.client import DagsterClient, get_dagster_client
from src.providers.gocardless.client import GoCardlessClient
from tests.harness.dagster_faults import SilentServer
from tests.harness.sandbox import SandboxControl

SANDBOX_BANK = "SANDBOXFINANCE_SFIN0000"


@pytest.fixture
def silent_dagster() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def callback_api(api: TestClient, silent_dagster: SilentServer) -> Iterator[TestClient]:
    client = DagsterClient(silent_dagster.url, location_name="finsync", timeout=1)
    api.app.dependency_overrides[get_dagster_client] = lambda: client  # type: ignore[attr-defined]
    yield api
    client.close()


def _connect_and_approve(api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl) -> str:
    """Connect the sandbox bank and approve at the bank; returns the requisition's reference."""
    response = api.post("/api/connections", json={"institution_id": SANDBOX_BANK}, headers=headers)
    assert response.status_code == 201, response.text
    connection_id = response.json()["connection"]["id"]
    requisition = db_session.scalars(select(GcRequisition).where(GcRequisition.connection_id == connection_id)).one()
    sandbox.approve(requisition.id, customer="chloe")
    return requisition.reference


def _callback(api: TestClient, reference: str) -> dict[str, list[str]]:
    response = api.get("/api/connections/callback", params={"ref": reference}, follow_redirects=False)
    assert response.status_code == 303
    return parse_qs(urlsplit(response.headers["location"]).query)


def test_a_linked_connection_starts_its_first_sync_through_the_injected_client(
    callback_api: TestClient,
    headers: dict[str, str],
    db_session: Session,
    sandbox: SandboxControl,
    silent_dagster: SilentServer,
) -> None:
    query = _callback(callback_api, _connect_and_approve(callback_api, headers, db_session, sandbox))
    assert query["status"] == ["active"]
    job = db_session.get(Job, query["job_id"][0])
    assert job is not None
    assert str(job.entity_id) == query["connection_id"][0]
    assert (job.status, job.launch_attempts) == (JobStatus.pending, 1)
    assert silent_dagster.connections >= 1  # the test's client was asked, not the one Settings describe
    shown = callback_api.get(f"/api/jobs/{job.id}", headers=headers).json()
    assert shown["status"] == "pending"
    assert "not answering" in shown["error_message"]


def test_a_connection_with_no_call_left_is_linked_without_a_sync(
    callback_api: TestClient,
    headers: dict[str, str],
    db_session: Session,
    sandbox: SandboxControl,
    gocardless: GoCardlessClient,
    silent_dagster: SilentServer,
) -> None:
    """Sync now would answer 429 for it; the callback still links it, and the redirect carries no job."""
    reference = _connect_and_approve(callback_api, headers, db_session, sandbox)
    requisition = db_session.scalars(select(GcRequisition).where(GcRequisition.reference == reference)).one()
    for account_id in gocardless.get_requisition(requisition.id).accounts:
        db_session.execute(
            text("INSERT INTO gc_accounts (id, requisition_id) VALUES (:g, :r) ON CONFLICT DO NOTHING"),
            {"g": account_id, "r": requisition.id},
        )
        db_session.execute(
            text(
                'INSERT INTO gc_account_limits (gc_account_id, scope, "limit", remaining, reset_at) '
                "VALUES (:g, :s, 4, 0, :reset)"
            ),
            {"g": account_id, "s": GcScope.transactions.value, "reset": datetime.now(UTC) + timedelta(hours=3)},
        )
    query = _callback(callback_api, reference)
    assert query["status"] == ["active"]
    assert "job_id" not in query
    shown = callback_api.get(f"/api/connections/{query['connection_id'][0]}", headers=headers).json()
    assert (shown["status"], shown["account_count"]) == ("active", 3)
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0
    assert silent_dagster.connections == 0
