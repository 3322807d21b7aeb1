"""Jobs in-process, where no live Dagster is needed: the sync engine unreachable (a closed loopback port: a real
refusal, not a mock) or paused (a loopback server that accepts and never answers), the launch window, the
rate-limit answer, ownership and cancel before a run exists."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from src.models import Connection, Job, User
from src.models.enums import GcScope
from src.providers.dagster.client import DagsterClient, get_dagster_client
from src.settings import settings
from tests.factories import auth_headers, create_account, create_connection, create_user_with_password
from tests.harness.dagster_faults import SilentServer

ABOUT_A_SECOND = 1.5  # the API's Dagster client waits 1 s at most (DAGSTER_TIMEOUT_SECONDS); the rest is our work
LAUNCH_RETRY_SECONDS = 5


@pytest.fixture
def unreachable_dagster() -> Iterator[DagsterClient]:
    client = DagsterClient("http://127.0.0.1:1", timeout=1)
    yield client
    client.close()


@pytest.fixture
def jobs_api(api: TestClient, unreachable_dagster: DagsterClient) -> TestClient:
    api.app.dependency_overrides[get_dagster_client] = lambda: unreachable_dagster  # type: ignore[attr-defined]
    return api


class TestDagsterDown:
    def test_sync_now_answers_202_pending_with_a_message(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        response = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
        assert response.status_code == 202
        job = response.json()
        assert response.headers["location"] == f"/api/jobs/{job['id']}"
        assert job["status"] == "pending"
        assert "not answering" in job["error_message"]
        again = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
        assert again.status_code == 200
        assert again.json()["id"] == job["id"]

    def test_after_the_window_the_job_fails_and_a_new_click_starts_afresh(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        job_id = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers).json()["id"]
        db_session.execute(
            text("UPDATE jobs SET created_at = now() - interval '11 minutes', status_checked_at = NULL WHERE id = :j"),
            {"j": job_id},
        )
        failed = jobs_api.get(f"/api/jobs/{job_id}", headers=headers).json()
        assert failed["status"] == "failed"
        assert failed["error_message"] == "could not reach the sync engine"
        fresh = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
        assert fresh.status_code == 202
        assert fresh.json()["id"] != job_id

    def test_polling_asks_at_most_once_a_second(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        job_id = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers).json()["id"]
        for _ in range(5):
            assert jobs_api.get(f"/api/jobs/{job_id}", headers=headers).status_code == 200
        attempts = db_session.scalar(select(Job.launch_attempts).where(Job.id == job_id))
        assert attempts == 1  # every poll within the second read the stored state

    def test_cancel_before_any_run(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        job_id = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers).json()["id"]
        canceled = jobs_api.post(f"/api/jobs/{job_id}/cancel", headers=headers).json()
        assert canceled["status"] == "canceled"
        assert jobs_api.post(f"/api/jobs/{job_id}/cancel", headers=headers).status_code == 409


@pytest.fixture
def paused_dagster() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def paused_api(api: TestClient, paused_dagster: SilentServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API with the Dagster client it builds from Settings (no override), pointed at a Dagster that accepts
    connections and never answers, as a webserver stopped with SIGSTOP does."""
    monkeypatch.setattr(settings, "dagster_url", paused_dagster.url)
    monkeypatch.setattr(settings, "dagster_location_name", None)
    get_dagster_client.cache_clear()
    yield api
    get_dagster_client().close()
    get_dagster_client.cache_clear()


def _timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def _attempts(db_session: Session, job_id: str) -> int:
    return int(db_session.scalar(select(Job.launch_attempts).where(Job.id == job_id)) or 0)


class TestDagsterPaused:
    def test_sync_now_and_twenty_polls_each_answer_within_about_a_second(
        self,
        paused_api: TestClient,
        paused_dagster: SilentServer,
        db_session: Session,
        user: User,
        headers: dict[str, str],
    ) -> None:
        connection = create_connection(db_session, user=user)
        started = time.monotonic()
        took, clicked = _timed(lambda: paused_api.post(f"/api/connections/{connection.id}/sync", headers=headers))
        assert took < ABOUT_A_SECOND, took
        assert clicked.status_code == 202
        job = clicked.json()
        assert job["status"] == "pending"
        assert "not answering" in job["error_message"]

        polls = []
        for _ in range(20):
            took, polled = _timed(lambda: paused_api.get(f"/api/jobs/{job['id']}", headers=headers))
            polls.append(took)
            assert polled.status_code == 200
            assert polled.json()["status"] == "pending"
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        assert max(polls) < ABOUT_A_SECOND, polls
        attempts = _attempts(db_session, job["id"])
        assert 1 <= attempts <= 1 + elapsed // LAUNCH_RETRY_SECONDS, (attempts, elapsed)
        assert paused_dagster.connections <= attempts  # an attempt waits once, whatever requests it is made of

    def test_a_launch_is_tried_again_at_most_once_every_five_seconds_whoever_asks(
        self, paused_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        job_id = paused_api.post(f"/api/connections/{connection.id}/sync", headers=headers).json()["id"]
        assert _attempts(db_session, job_id) == 1

        def last_attempt_was(seconds: int) -> None:
            db_session.execute(
                text("UPDATE jobs SET status_checked_at = clock_timestamp() - make_interval(secs => :s) WHERE id = :j"),
                {"s": seconds, "j": job_id},
            )

        last_attempt_was(3)  # polled once a second, a job's run is read again; a launch is not tried again yet
        assert paused_api.get(f"/api/jobs/{job_id}", headers=headers).json()["status"] == "pending"
        assert paused_api.post(f"/api/connections/{connection.id}/sync", headers=headers).status_code == 200
        assert paused_api.get("/api/jobs", headers=headers).status_code == 200
        assert _attempts(db_session, job_id) == 1

        last_attempt_was(LAUNCH_RETRY_SECONDS + 1)
        assert paused_api.get(f"/api/jobs/{job_id}", headers=headers).json()["status"] == "pending"
        assert paused_api.get(f"/api/jobs/{job_id}", headers=headers).status_code == 200
        assert _attempts(db_session, job_id) == 2

    def test_sync_all_and_the_job_list_wait_on_dagster_once(
        self, paused_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        """Three connections, three launches: the first that runs out of time leaves Dagster alone for a while, so
        the others answer "not answering" at once instead of each waiting in turn."""
        for _ in range(3):
            create_connection(db_session, user=user)
        took, synced = _timed(lambda: paused_api.post("/api/sync", headers=headers))
        assert took < ABOUT_A_SECOND, took
        jobs = synced.json()["items"]
        assert [job["status"] for job in jobs] == ["pending"] * 3

        time.sleep(get_dagster_client().rest)  # Dagster is asked again from now on
        db_session.execute(text("UPDATE jobs SET status_checked_at = clock_timestamp() - interval '1 minute'"))
        took, listed = _timed(lambda: paused_api.get("/api/jobs", headers=headers))
        assert took < ABOUT_A_SECOND, took
        assert [job["status"] for job in listed.json()["items"]] == ["pending"] * 3
        assert all(_attempts(db_session, job["id"]) == 2 for job in jobs)


class TestManyClicksOnOnePooledConnection:
    def test_sync_now_fifty_times_on_one_database_connection(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        """The job insert infers a partial index: it must keep matching once psycopg has prepared the statement and
        PostgreSQL plans it generically (from about the sixth run on one connection; every request here shares the
        test's one connection)."""
        connection = create_connection(db_session, user=user)
        statuses = []
        for _ in range(50):
            response = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
            statuses.append(response.status_code)
            db_session.execute(
                text("UPDATE jobs SET status = 'failed', completed_at = now() WHERE entity_id = :c"),
                {"c": connection.id},
            )
        assert statuses == [202] * 50
        assert db_session.scalar(select(func.count()).select_from(Job)) == 50


def _account_out_of_calls(
    db_session: Session, connection: Connection, *, limit: int | None, reset_at: datetime | None
) -> None:
    """A new account of `connection` behind its GoCardless requisition, with no transactions calls left: until
    `reset_at`, or, when GoCardless sent no reset (`None`), for the back-off after a 429."""
    account = create_account(db_session, connection=connection)
    db_session.execute(
        text(
            "INSERT INTO gc_requisitions (id, connection_id, reference, status, payload) "
            "VALUES (:r, :c, :r, 'LN', '{}') ON CONFLICT DO NOTHING"
        ),
        {"r": f"req-{connection.id}", "c": connection.id},
    )
    db_session.execute(
        text("INSERT INTO gc_accounts (id, requisition_id, account_id) VALUES (:g, :r, :a)"),
        {"g": account.provider_id, "r": f"req-{connection.id}", "a": account.id},
    )
    db_session.execute(
        text(
            'INSERT INTO gc_account_limits (gc_account_id, scope, "limit", remaining, reset_at) '
            "VALUES (:g, :s, :limit, 0, :reset)"
        ),
        {"g": account.provider_id, "s": GcScope.transactions.value, "limit": limit, "reset": reset_at},
    )


class TestRateLimited:
    def test_every_account_out_of_calls_is_a_429_and_no_job(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        resets = [datetime.now(UTC) + timedelta(hours=hours) for hours in (5, 3)]
        for reset_at in resets:
            _account_out_of_calls(db_session, connection, limit=4, reset_at=reset_at)
        response = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
        assert response.status_code == 429
        body = response.json()
        assert body["code"] == "rate_limited"
        assert datetime.fromisoformat(body["retry_at"]) == min(resets)
        assert 3 * 3600 - 60 < int(response.headers["retry-after"]) <= 3 * 3600
        assert db_session.scalar(select(func.count()).select_from(Job)) == 0

    def test_an_account_resting_after_a_429_without_reset_counts_as_rate_limited(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        """The extraction would not call it for the back-off; Sync now says so instead of starting a run."""
        from src.models.gocardless import UNKNOWN_RESET_BACKOFF

        connection = create_connection(db_session, user=user)
        _account_out_of_calls(db_session, connection, limit=None, reset_at=None)
        recorded = db_session.scalar(text("SELECT updated_at FROM gc_account_limits"))
        response = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers)
        assert response.status_code == 429
        assert datetime.fromisoformat(response.json()["retry_at"]) == recorded + UNKNOWN_RESET_BACKOFF


class TestOwnership:
    def test_a_connection_past_its_consent_expiry_is_not_synced_though_stored_active(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        """The list shows it expired (the clock decides between two syncs); Sync now and Sync all agree."""
        lapsed = create_connection(db_session, user=user, expires_at=datetime.now(UTC) - timedelta(minutes=1))
        shown = jobs_api.get(f"/api/connections/{lapsed.id}", headers=headers).json()
        assert shown["status"] == "expired"
        refused = jobs_api.post(f"/api/connections/{lapsed.id}/sync", headers=headers)
        assert refused.status_code == 409
        assert "expired" in refused.json()["detail"]
        current = create_connection(db_session, user=user, expires_at=datetime.now(UTC) + timedelta(days=30))
        started = jobs_api.post("/api/sync", headers=headers).json()
        assert [job["entity_id"] for job in started["items"]] == [str(current.id)]

    def test_another_users_job_and_connection(
        self, jobs_api: TestClient, db_session: Session, user: User, headers: dict[str, str]
    ) -> None:
        connection = create_connection(db_session, user=user)
        job_id = jobs_api.post(f"/api/connections/{connection.id}/sync", headers=headers).json()["id"]
        stranger = auth_headers(create_user_with_password(db_session))
        assert jobs_api.get(f"/api/jobs/{job_id}", headers=stranger).json()["code"] == "job_not_found"
        assert jobs_api.post(f"/api/jobs/{job_id}/cancel", headers=stranger).status_code == 404
        assert jobs_api.post(f"/api/connections/{connection.id}/sync", headers=stranger).status_code == 404
        assert jobs_api.get("/api/jobs", headers=stranger).json()["items"] == []
        assert [j["id"] for j in jobs_api.get("/api/jobs", headers=headers).json()["items"]] == [job_id]
