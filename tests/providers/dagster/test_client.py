"""The Dagster client against a live Dagster: the real webserver and daemon (the session's `dagster` fixture),
the project's workspace and deploy/dagster.dev.yaml, runs that really execute against the sandbox.

Runs for a connection id that is not in the database fail in their first asset, which makes a cheap, fast,
deterministic FAILURE; a connection stored the way the bank callback stores it gives a SUCCESS; sandbox latency
on the requisitions endpoint keeps a run busy long enough to terminate it and to see the tag limit hold a second
run of the same connection in the queue.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from src.providers.dagster import client as dagster_client
from src.providers.dagster.client import (
    DagsterClient,
    Launched,
    NotFound,
    Rejected,
    RunState,
    Terminated,
    Unreachable,
    get_run_status,
    trigger_job,
)
from src.settings import settings
from src.sync_runs import CONNECTION_JOB, FULL_SYNC_JOB, connection_run
from tests.harness.dagster import LiveDagster
from tests.harness.dagster_faults import SilentServer, SlowProxy
from tests.harness.ingest import connect_sandbox
from tests.harness.sandbox import SandboxControl, free_port

pytestmark = pytest.mark.integration

CONNECTION_JOB_STEPS = 9  # 4 extraction assets, 4 sync assets, the balance drift check
TERMINAL = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
LIFECYCLE = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING", "SUCCESS", "FAILURE", "CANCELED"]
# How long a run may take to end here: each run starts a worker process that imports Dagster and finsync (6-8 s
# on this 2-core machine), and two runs at once while the rest of the suite runs took 48 s once.
DEADLINE = 90.0


@pytest.fixture
def client(dagster: LiveDagster) -> Iterator[DagsterClient]:
    with DagsterClient(dagster.url) as dagster_api:
        yield dagster_api


def forget_settings_clients() -> None:
    """Close and forget the clients built from Settings, so the next call builds them from the current values."""
    for factory in (dagster_client.get_dagster_client, dagster_client.get_patient_dagster_client):
        if factory.cache_info().currsize:
            factory().close()
        factory.cache_clear()


@pytest.fixture
def settings_client(dagster: LiveDagster, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The clients built from Settings (trigger_job and get_run_status use the patient one) naming the live Dagster."""
    monkeypatch.setattr(settings, "dagster_url", dagster.url)
    monkeypatch.setattr(settings, "dagster_location_name", None)
    forget_settings_clients()
    try:
        yield
    finally:
        forget_settings_clients()


def missing_connection() -> str:
    return str(uuid.uuid4())


def star_config(connection_id: str) -> dict[str, Any]:
    return {"ops": {"*": {"config": {"connection_id": connection_id}}}}


def launched(result: object) -> str:
    assert isinstance(result, Launched), result
    return result.run_id


def wait_for(client: DagsterClient, run_id: str, statuses: frozenset[str] | set[str]) -> tuple[RunState, list[str]]:
    """Poll run() until the status is one of `statuses`; the final state and every distinct status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        state = client.run(run_id)
        assert isinstance(state, RunState), state
        if not seen or seen[-1] != state.status:
            seen.append(state.status)
        if state.status in statuses:
            return state, seen
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never reached {sorted(statuses)}; seen {seen}")


def real_connection(dagster: LiveDagster, sandbox: SandboxControl) -> str:
    """A connection in Dagster's database, stored the way the bank callback stores it."""
    assert dagster.database_url is not None
    engine = create_engine(dagster.database_url)
    try:
        return str(connect_sandbox(engine, sandbox, account_count=1))
    finally:
        engine.dispose()


def connection_config(connection_id: str) -> dict[str, Any]:
    """The run config Sync now launches: every op of the connection job named, no `*` to expand."""
    return connection_run(connection_id).run_config


class TestLaunch:
    def test_location_is_discovered_and_asked_again_when_dagster_no_longer_knows_it(
        self, client: DagsterClient
    ) -> None:
        # A config Dagster refuses after finding the job: the location is right, and no run is created.
        config = {"ops": {"no_such_op": {"config": {}}}}
        first = client.launch(CONNECTION_JOB, config)
        assert isinstance(first, Rejected)
        assert "run config invalid" in first.reason
        assert client._discovered_location == "finsync"

        client._discovered_location = "renamed"  # as if the workspace had been renamed since it was asked
        again = client.launch(CONNECTION_JOB, config)
        assert isinstance(again, Rejected)
        assert "run config invalid" in again.reason, again.reason
        assert client._discovered_location == "finsync"

    def test_a_configured_location_is_trusted(self, dagster: LiveDagster) -> None:
        with DagsterClient(dagster.url, location_name="nowhere") as wrong:
            result = wrong.launch(CONNECTION_JOB, connection_config(missing_connection()))
        assert isinstance(result, Rejected)
        assert "PipelineNotFoundError" in result.reason

    def test_explicit_config_runs_tagged_and_fails_with_the_assets_own_message(
        self, client: DagsterClient, dagster: LiveDagster
    ) -> None:
        connection_id = missing_connection()
        run_id = launched(client.launch(CONNECTION_JOB, connection_config(connection_id)))

        assert dagster.run_count(tag_value=connection_id) == 1
        state, seen = wait_for(client, run_id, TERMINAL)
        assert seen[0] in {"QUEUED", "STARTING", "STARTED"}, seen
        assert [LIFECYCLE.index(status) for status in seen] == sorted(LIFECYCLE.index(status) for status in seen)
        assert state.status == "FAILURE"
        assert state.failure_message == f"connection {connection_id} does not exist"
        assert state.start_time is not None
        assert state.start_time.tzinfo is not None
        assert state.end_time is not None
        assert state.end_time >= state.start_time
        assert state.steps_total == CONNECTION_JOB_STEPS
        assert 1 <= state.steps_done <= CONNECTION_JOB_STEPS

    @pytest.mark.usefixtures("settings_client")
    def test_the_documented_one_liner_expands_every_op_and_tags_the_run(self, dagster: LiveDagster) -> None:
        connection_id = missing_connection()
        run_id = trigger_job(FULL_SYNC_JOB, star_config(connection_id))

        assert run_id is not None
        assert dagster.run_count(tag_value=connection_id) == 1
        assert get_run_status(run_id) in set(LIFECYCLE)
        run_config = dagster.query(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { runConfig } } }", {"id": run_id}
        )["runOrError"]["runConfig"]
        assert "*" not in run_config["ops"]
        assert "source__gocardless__extract__institutions" in run_config["ops"]
        assert {entry["config"]["connection_id"] for entry in run_config["ops"].values()} == {connection_id}
        state, _ = wait_for(dagster_client.get_patient_dagster_client(), run_id, TERMINAL)
        assert state.status == "FAILURE"
        assert state.failure_message == f"connection {connection_id} does not exist"
        assert get_run_status(run_id) == "FAILURE"

    def test_a_real_connection_syncs_to_success(
        self, client: DagsterClient, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        connection_id = real_connection(dagster, sandbox)
        run_id = launched(client.launch(CONNECTION_JOB, star_config(connection_id)))

        state, _ = wait_for(client, run_id, TERMINAL)
        assert state.status == "SUCCESS", state
        assert state.failure_message is None
        assert state.steps_done == state.steps_total == CONNECTION_JOB_STEPS
        assert dagster.run_count(tag_value=connection_id) == 1

    def test_a_launch_tried_again_adopts_the_run_an_earlier_attempt_created(
        self, client: DagsterClient, dagster: LiveDagster
    ) -> None:
        """The retry of a launch that ran out of time here but happened there: one run, whatever the attempts."""
        connection_id = missing_connection()
        tags = {"finsync/job_id": str(uuid.uuid4())}
        first = client.launch(CONNECTION_JOB, connection_config(connection_id), tags=tags)
        again = client.launch(
            CONNECTION_JOB, connection_config(connection_id), tags=tags, adopt_tagged="finsync/job_id"
        )
        other = client.launch(
            CONNECTION_JOB,
            connection_config(connection_id),
            tags={"finsync/job_id": str(uuid.uuid4())},
            adopt_tagged="finsync/job_id",
        )

        run_id = launched(first)
        assert again == Launched(run_id, adopted=True)
        assert isinstance(other, Launched)
        assert not other.adopted  # no run carries that launch's tag yet: launched
        assert dagster.run_count(tag_value=connection_id) == 2
        assert wait_for(client, run_id, TERMINAL)[0].status == "FAILURE"

    def test_refusals(self, client: DagsterClient) -> None:
        unknown_job = client.launch("no_such_job", {})
        assert isinstance(unknown_job, Rejected)
        assert "no_such_job" in unknown_job.reason

        two_connections = client.launch(
            CONNECTION_JOB,
            {
                "ops": {
                    "sync__gocardless__connections": {"config": {"connection_id": missing_connection()}},
                    "sync__gocardless__accounts": {"config": {"connection_id": missing_connection()}},
                }
            },
        )
        assert isinstance(two_connections, Rejected)
        assert "several connections" in two_connections.reason


class TestRead:
    def test_unknown_and_malformed_ids_are_not_found(self, client: DagsterClient) -> None:
        unknown = str(uuid.uuid4())
        assert client.run(unknown) == NotFound(unknown)
        assert client.run("not a run id") == NotFound("not a run id")
        assert client.runs([]) == {}
        assert client.terminate(unknown) == NotFound(unknown)

    def test_runs_reads_a_batch_in_one_request_and_each_failure_once(self, client: DagsterClient) -> None:
        requests: list[str] = []

        def record(request: httpx.Request) -> None:
            body = request.content.decode()
            requests.append("runs" if "runsOrError" in body else "logs" if "logsForRun" in body else "other")

        first = launched(client.launch(CONNECTION_JOB, connection_config(missing_connection())))
        second = launched(client.launch(CONNECTION_JOB, connection_config(missing_connection())))
        unknown = str(uuid.uuid4())
        client._session.transport.client.event_hooks["request"].append(record)

        answer = client.runs([first, second, unknown])
        assert requests == ["runs"] + ["logs"] * (len(requests) - 1)
        assert isinstance(answer, dict)
        assert answer[unknown] == NotFound(unknown)
        assert isinstance(answer[first], RunState)
        assert isinstance(answer[second], RunState)

        deadline = time.monotonic() + DEADLINE
        while not all(
            isinstance(s, RunState) and s.status in TERMINAL for s in answer.values() if s != answer[unknown]
        ):
            assert time.monotonic() < deadline, answer
            time.sleep(0.2)
            polled = client.runs([first, second, unknown])
            assert isinstance(polled, dict)
            answer = polled
        for run_id in (first, second):
            state = answer[run_id]
            assert isinstance(state, RunState)
            assert state.status == "FAILURE"
            assert state.failure_message is not None
            assert state.failure_message.endswith("does not exist")
        client.runs([first, second])
        assert requests.count("logs") == 2  # a failed run's message is read once, then kept


class TestTerminate:
    def test_a_queued_and_a_running_run_are_canceled(
        self, client: DagsterClient, dagster: LiveDagster, sandbox: SandboxControl
    ) -> None:
        connection_id = real_connection(dagster, sandbox)
        # Every GoCardless call takes 4 s: the run stays busy for many seconds, while no request the sandbox
        # serves outlives the test by more than that.
        sandbox.set_faults(latency_ms=4_000, path_prefix="/api/v2/")
        try:
            running = launched(client.launch(CONNECTION_JOB, star_config(connection_id)))
            wait_for(client, running, {"STARTED"})
            queued = launched(client.launch(CONNECTION_JOB, star_config(connection_id)))

            time.sleep(2.5)  # two dequeue intervals: the tag limit keeps the second run of the connection queued
            state = client.run(queued)
            assert isinstance(state, RunState)
            assert state.status == "QUEUED"

            assert client.terminate(queued) == Terminated(previous_status="QUEUED")
            assert wait_for(client, queued, TERMINAL)[0].status == "CANCELED"
            assert isinstance(client.terminate(queued), Rejected)

            assert client.terminate(running) == Terminated(previous_status="STARTED")
            assert isinstance(client.terminate(running), Rejected)  # already canceling
            assert wait_for(client, running, TERMINAL)[0].status == "CANCELED"
        finally:
            sandbox.clear_faults()


class TestUnreachable:
    TIMEOUT = 2.0

    def test_every_call_answers_unreachable_quickly(self) -> None:
        closed = f"http://127.0.0.1:{free_port()}"
        run_id = str(uuid.uuid4())
        with DagsterClient(closed, timeout=self.TIMEOUT) as unreachable:
            calls = {
                "launch": lambda: unreachable.launch(CONNECTION_JOB, star_config(missing_connection())),
                "run": lambda: unreachable.run(run_id),
                "runs": lambda: unreachable.runs([run_id]),
                "terminate": lambda: unreachable.terminate(run_id),
            }
            for name, call in calls.items():
                started = time.monotonic()
                result = call()
                assert isinstance(result, Unreachable), (name, result)
                assert time.monotonic() - started < self.TIMEOUT + 1, name

    def test_the_wrappers_answer_none(self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        monkeypatch.setattr(settings, "dagster_url", f"http://127.0.0.1:{free_port()}")
        monkeypatch.setattr(settings, "dagster_location_name", None)
        forget_settings_clients()
        run_id = str(uuid.uuid4())
        limit = 5.0 + 1  # the wrappers' (the default) timeout, plus a second
        try:
            with caplog.at_level("WARNING", logger="src.providers.dagster"):
                started = time.monotonic()
                assert trigger_job(FULL_SYNC_JOB, star_config(missing_connection())) is None
                assert time.monotonic() - started < limit
                started = time.monotonic()
                assert get_run_status(run_id) is None
                assert time.monotonic() - started < limit
        finally:
            forget_settings_clients()
        by_message = {record.getMessage(): record for record in caplog.records}
        assert by_message["dagster launch unreachable"].job_name == FULL_SYNC_JOB  # type: ignore[attr-defined]
        assert by_message["dagster run read failed"].run_id == run_id  # type: ignore[attr-defined]


class TestPausedOrSlow:
    """A Dagster that does not answer (paused: a loopback server that accepts and never answers) or answers slowly
    (a real Dagster behind a proxy that holds each answer): the timeout bounds a call, not each of its requests."""

    def test_a_call_waits_at_most_its_timeout_however_many_requests_it_makes(self, dagster: LiveDagster) -> None:
        # Three requests (code location, the job's ops, launchRun), each answered 0.6 s late: 1.8 s per request
        # in time, but the call has 1 s in all.
        proxy = SlowProxy(dagster.url, delay=0.6)
        try:
            with DagsterClient(proxy.url, timeout=1.0) as slow:
                started = time.monotonic()
                result = slow.launch(CONNECTION_JOB, star_config(missing_connection()))
                took = time.monotonic() - started
        finally:
            proxy.stop()
        assert isinstance(result, Unreachable), result
        assert 0.9 < took < 1.4, took
        assert proxy.operations("FinsyncLaunchRun") == 0  # it ran out of time before the launch was sent

    def test_after_a_call_ran_out_of_time_dagster_is_left_alone_for_the_rest_period(self) -> None:
        silent = SilentServer()
        run_id = str(uuid.uuid4())
        try:
            with DagsterClient(silent.url, timeout=0.5, rest=1.5) as paused:
                started = time.monotonic()
                assert isinstance(paused.run(run_id), Unreachable)
                assert 0.45 < time.monotonic() - started < 1.0
                calls: dict[str, Callable[[], object]] = {
                    "launch": lambda: paused.launch(CONNECTION_JOB, star_config(missing_connection())),
                    "run": lambda: paused.run(run_id),
                    "runs": lambda: paused.runs([run_id]),
                    "terminate": lambda: paused.terminate(run_id),
                }
                for name, call in calls.items():
                    started = time.monotonic()
                    result = call()
                    assert isinstance(result, Unreachable), (name, result)
                    assert "asking again in" in result.reason, (name, result)
                    assert time.monotonic() - started < 0.1, name
                assert silent.connections == 1  # resting: nothing more went to the network

                time.sleep(1.5)
                started = time.monotonic()
                assert isinstance(paused.run(run_id), Unreachable)
                assert 0.45 < time.monotonic() - started < 1.0
                assert silent.connections == 2  # the rest is over: asked again
        finally:
            silent.close()

    def test_the_apis_client_waits_about_a_second(self, monkeypatch: pytest.MonkeyPatch) -> None:
        silent = SilentServer()
        monkeypatch.setattr(settings, "dagster_url", silent.url)
        monkeypatch.setattr(settings, "dagster_location_name", None)
        forget_settings_clients()
        try:
            started = time.monotonic()
            result = dagster_client.get_dagster_client().launch(FULL_SYNC_JOB, star_config(missing_connection()))
            assert isinstance(result, Unreachable)
            assert time.monotonic() - started < 1.5
        finally:
            forget_settings_clients()
            silent.close()
