"""Sync now end to end: a live API (uvicorn), the live Dagster webserver and daemon (`dagster` fixture: shared by
the session, deploy/dagster.dev.yaml, a database of its own) and the sandbox server. The API and Dagster's runs
use the same database; each test signs up a user of its own and connects the sandbox bank through the API."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from src.ingest.verdict import INTERNAL_FAILURE_MESSAGE
from src.providers.gocardless.client import GoCardlessClient
from src.sync_runs import JOB_TAG
from tests.harness.dagster import LiveDagster
from tests.harness.dagster_faults import SlowProxy
from tests.harness.live import LiveApi, connect_sandbox_bank, registered_client, wait_for_job
from tests.harness.sandbox import SandboxControl, SandboxServer

PASSWORD = "sync jobs passphrase"
TERMINAL = {"completed", "failed", "canceled"}
ABOUT_A_SECOND = 1.5  # the API's Dagster client waits 1 s at most (DAGSTER_TIMEOUT_SECONDS)


def _live_api(log: Path, dagster: LiveDagster, sandbox: SandboxControl, *, dagster_url: str | None = None) -> LiveApi:
    """A live API on the live Dagster's database and the sandbox, asking Dagster at `dagster_url` (a proxy)."""
    env = {
        "DATABASE_URL": str(dagster.database_url),
        "GOCARDLESS_BASE_URL": sandbox.base_url,
        "DAGSTER_URL": dagster_url or dagster.url,
    }
    return LiveApi(log, env=env)


@pytest.fixture(scope="module")
def shared_api(
    tmp_path_factory: pytest.TempPathFactory, dagster: LiveDagster, sandbox_server: SandboxServer
) -> Iterator[LiveApi]:
    """One live API for the module's tests (each signs up a user of its own): an API start costs seconds."""
    control = SandboxControl(sandbox_server.base_url)
    try:
        api = _live_api(tmp_path_factory.mktemp("api") / "api.log", dagster, control)
    finally:
        control.close()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def live(shared_api: LiveApi, sandbox: SandboxControl) -> LiveApi:
    sandbox.set_limits(account_daily=1000)
    return shared_api


class User:
    """A new user of the live API, signed in."""

    def __init__(self, api: LiveApi) -> None:
        self.base = api.base_url
        self.http = registered_client(api.base_url, "jobs", PASSWORD)

    def connect(self, customer: str = "alice") -> tuple[str, str]:
        """Connect the sandbox bank; returns (connection id, the first sync's job id from the callback)."""
        return connect_sandbox_bank(self.http, customer)

    def wait(self, job_id: str, *, until: set[str] = TERMINAL, timeout: float = 90) -> dict[str, Any]:
        return wait_for_job(self.http, job_id, lambda job: job["status"] in until, timeout=timeout, every=0.5)


def _transactions(database_url: str, connection_id: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            return int(
                db.execute(
                    text(
                        "SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id "
                        "WHERE a.connection_id = :c"
                    ),
                    {"c": connection_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


class TestSyncNow:
    def test_the_first_sync_starts_at_the_callback_and_completes(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        user = User(live)
        connection_id, job_id = user.connect(customer="chloe")
        job = user.wait(job_id)
        assert job["status"] == "completed", job
        assert job["started_at"]
        assert job["completed_at"]
        assert job["progress"]["done"] == job["progress"]["total"]
        assert sorted(o["outcome"] for o in job["outcomes"]) == ["synced"] * 3
        assert sum(o["new_count"] for o in job["outcomes"]) == _transactions(str(dagster.database_url), connection_id)

        again = user.http.post(f"/api/connections/{connection_id}/sync")
        assert again.status_code == 202
        assert again.json()["status"] in {"pending", "running"}
        assert user.wait(again.json()["id"])["status"] == "completed"

    def test_fifty_concurrent_clicks_make_one_job_and_one_run(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        user = User(live)
        connection_id, first = user.connect()
        user.wait(first)
        runs_before = dagster.run_count(connection_id)
        sandbox.set_faults(latency_ms=3000)  # a slow bank: the sync is still under way while the clicks land
        ids: list[str] = []
        statuses: list[int] = []
        lock = threading.Lock()

        def click() -> None:
            response = httpx.post(
                f"{live.base_url}/api/connections/{connection_id}/sync", headers=user.http.headers, timeout=60
            )
            with lock:
                statuses.append(response.status_code)
                ids.append(response.json().get("id") or response.text)

        threads = [threading.Thread(target=click) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(ids)) == 1, set(ids)
        assert statuses.count(202) == 1
        assert statuses.count(200) == 49
        sandbox.clear_faults()
        assert user.wait(ids[0])["status"] == "completed"
        assert dagster.run_count(connection_id) == runs_before + 1

    def test_a_failing_run_shows_a_readable_message_and_logs_the_steps_own(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        user = User(live)
        connection_id, first = user.connect()
        user.wait(first)
        engine = create_engine(str(dagster.database_url))
        name = f"fail_{connection_id.replace('-', '')}"
        try:
            with engine.begin() as db:  # a real failure inside PostgreSQL during the sync step
                db.execute(
                    text(
                        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN RAISE EXCEPTION 'bank data refused by the ledger'; END $$"
                    )
                )
                db.execute(
                    text(
                        f"CREATE TRIGGER {name} BEFORE UPDATE ON connections FOR EACH ROW "
                        f"WHEN (NEW.id = '{connection_id}' AND NEW.last_synced_at IS DISTINCT FROM "
                        f"OLD.last_synced_at) EXECUTE FUNCTION {name}()"
                    )
                )
            job = user.http.post(f"/api/connections/{connection_id}/sync").json()
            failed = user.wait(job["id"])
        finally:
            with engine.begin() as db:
                db.execute(text(f"DROP TRIGGER IF EXISTS {name} ON connections"))
                db.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
            engine.dispose()
        assert failed["status"] == "failed"
        assert failed["error_message"] == INTERNAL_FAILURE_MESSAGE  # Dagster's text is for the operator
        # Whoever saw the run end first logged it with the step's own words: the API reading the job, or the
        # run-status sensor in Dagster's daemon.
        logs = live.logs() + dagster.logs(tail=5000)
        logged = [line for line in logs.splitlines() if "bank data refused by the ledger" in line]
        assert logged, "the step's own message goes to the operator's log"
        assert any(failed["id"] in line for line in logged)

    def test_a_requisition_deleted_at_gocardless_fails_the_sync_and_can_be_reauthorised(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        user = User(live)
        connection_id, first = user.connect()
        user.wait(first)
        before = user.http.get(f"/api/connections/{connection_id}").json()
        engine = create_engine(str(dagster.database_url))
        try:
            with engine.connect() as db:
                requisition_id = db.execute(
                    text("SELECT requisition_id FROM connections WHERE id = :c"), {"c": connection_id}
                ).scalar_one()
        finally:
            engine.dispose()
        with GoCardlessClient(
            base_url=sandbox.base_url, secret_id=sandbox.secret_id, secret_key=sandbox.secret_key
        ) as client:
            client.delete_requisition(str(requisition_id))
        job = user.wait(user.http.post(f"/api/connections/{connection_id}/sync").json()["id"])
        assert job["status"] == "failed", job
        assert job["error_message"].startswith("No account synced.")
        assert "re-authorise" in job["error_message"]
        assert {o["outcome"] for o in job["outcomes"]} == {"reauth_required"}
        after = user.http.get(f"/api/connections/{connection_id}").json()
        assert after["status"] == "expired"
        assert after["last_synced_at"] == before["last_synced_at"]  # no account made a bank call
        renewed = user.http.post(f"/api/connections/{connection_id}/reauthorise")
        assert renewed.status_code in (200, 201), renewed.text
        assert renewed.json()["link"]

    def test_cancel(self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl) -> None:
        user = User(live)
        connection_id, first = user.connect()
        user.wait(first)
        sandbox.set_faults(latency_ms=8000)  # a slow bank keeps the run busy (below the client's 30 s timeout)
        job = user.http.post(f"/api/connections/{connection_id}/sync").json()
        # Cancel once a step is executing: a run still STARTING may finish before Dagster can stop it.
        wait_for_job(
            user.http, job["id"], lambda j: j["status"] == "running" and (j["progress"] or {}).get("done", 0) >= 1
        )
        assert user.http.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
        assert user.wait(job["id"])["status"] == "canceled"
        sandbox.clear_faults()


class TestTriggerJob:
    def test_the_documented_call_syncs_one_connection_only(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from src.providers.dagster import client as dagster_client
        from src.settings import settings

        user = User(live)
        other = User(live)  # a second connection of the same bank by one person would be refused as a duplicate
        first_connection, first_job = user.connect(customer="alice")
        other_connection, other_job = other.connect(customer="dmitri")
        user.wait(first_job)
        other.wait(other_job)
        engine = create_engine(str(dagster.database_url))
        with engine.connect() as db:
            synced_before = db.execute(
                text("SELECT last_synced_at FROM connections WHERE id = :c"), {"c": other_connection}
            ).scalar_one()
        monkeypatch.setattr(settings, "dagster_url", dagster.url)
        dagster_client.get_patient_dagster_client.cache_clear()
        try:
            run_id = dagster_client.trigger_job(
                "gocardless_sync_job", {"ops": {"*": {"config": {"connection_id": first_connection}}}}
            )
            assert run_id is not None
            deadline = time.monotonic() + 90
            while dagster_client.get_run_status(run_id) not in {"SUCCESS", "FAILURE", "CANCELED"}:
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert dagster_client.get_run_status(run_id) == "SUCCESS"
        finally:
            dagster_client.get_patient_dagster_client().close()
            dagster_client.get_patient_dagster_client.cache_clear()
        with engine.connect() as db:
            synced_after = db.execute(
                text("SELECT last_synced_at FROM connections WHERE id = :c"), {"c": other_connection}
            ).scalar_one()
        engine.dispose()
        assert synced_after == synced_before


class TestDagsterSlow:
    def test_a_launch_that_ran_out_of_time_but_happened_is_adopted_not_repeated(
        self, tmp_path: Path, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        """The API talks to the live Dagster through a proxy that holds answers: Dagster launches the run, the API
        stops waiting after about a second and says "not answering"; the next attempt finds the run by its job tag
        and adopts it. Every request answers within about a second, and the sync runs once."""
        sandbox.set_limits(account_daily=1000)
        proxy = SlowProxy(dagster.url)
        api = _live_api(tmp_path / "api.log", dagster, sandbox, dagster_url=proxy.url)
        try:
            user = User(api)
            connection_id, first = user.connect()
            user.wait(first)
            runs_before = dagster.run_count(connection_id)
            launches_before = proxy.operations("FinsyncLaunchRun")

            proxy.delay = 3.0
            started = time.monotonic()
            clicked = user.http.post(f"/api/connections/{connection_id}/sync")
            assert time.monotonic() - started < ABOUT_A_SECOND
            assert clicked.status_code == 202
            job = clicked.json()
            assert job["status"] == "pending"
            assert "not answering" in job["error_message"]
            deadline = time.monotonic() + 30
            while dagster.run_count(connection_id) == runs_before:  # Dagster launched it all the same
                assert time.monotonic() < deadline
                time.sleep(0.2)
            proxy.delay = 0.0

            polls: list[float] = []
            deadline = time.monotonic() + 90
            while job["status"] not in TERMINAL:
                assert time.monotonic() < deadline, job
                time.sleep(0.5)
                started = time.monotonic()
                job = user.http.get(f"/api/jobs/{job['id']}").json()
                polls.append(time.monotonic() - started)
            assert job["status"] == "completed", job
            assert max(polls) < ABOUT_A_SECOND, polls
            assert dagster.run_count(connection_id) == runs_before + 1
            assert proxy.operations("FinsyncLaunchRun") == launches_before + 1
            engine = create_engine(str(dagster.database_url))
            try:
                with engine.connect() as db:
                    run_id, attempts = db.execute(
                        text("SELECT dagster_run_id, launch_attempts FROM jobs WHERE id = :j"), {"j": job["id"]}
                    ).one()
            finally:
                engine.dispose()
            assert attempts == 2
            tagged = dagster.query(
                "query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { runId } } } }",
                {"f": {"tags": [{"key": JOB_TAG, "value": job["id"]}]}},
            )["runsOrError"]["results"]
            assert [run["runId"] for run in tagged] == [run_id]
            assert any("sync run adopted" in line and job["id"] in line for line in api.logs().splitlines())
        finally:
            api.stop()
            proxy.stop()


class TestDagsterDown:
    """Last in the module: it stops the shared Dagster and starts it again."""

    def test_pending_while_down_then_completed_once_it_is_back(
        self, live: LiveApi, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        user = User(live)
        connection_id, first = user.connect()
        user.wait(first)
        dagster.stop()
        try:
            clicked = user.http.post(f"/api/connections/{connection_id}/sync")
            assert clicked.status_code == 202
            job = clicked.json()
            assert job["status"] == "pending"
            assert "not answering" in job["error_message"]
        finally:
            dagster.start()
        assert user.wait(job["id"], timeout=120)["status"] == "completed"
