"""Scope safety: a run that could sync other connections than the one meant stops before touching anything.

The jobs run as Dagster loads them (`defs`, with the test's resources), in-process against real PostgreSQL and
the sandbox over HTTP; the last test launches the connection job the way the Dagster UI does, on the live
webserver and daemon. "Nothing touched" is read from both sides: every row of the database is as it was, and the
sandbox counted no call.
"""

import time
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine, create_engine, text

from src.orchestration.gocardless.config import extract_key, sync_key
from src.orchestration.gocardless.definitions import defs as gocardless_defs
from src.sync_runs import CONNECTION_JOB, CONNECTION_JOB_OPS, FULL_SYNC_JOB, connection_run
from tests.harness.dagster import LiveDagster
from tests.harness.ingest import connect_sandbox
from tests.harness.pipeline import resources
from tests.harness.sandbox import SandboxControl

FIRST_STEP = "source__gocardless__extract__requisitions"
LAST_OP = "sync__gocardless__balances_balance_drift"
NO_CONNECTION = f"{CONNECTION_JOB} syncs one connection: set connection_id in the run config of every op"


def run_job(
    sandbox: SandboxControl,
    job_name: str,
    run_config: dict[str, Any] | None = None,
    asset_selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a job of the code location in this process, its resources pointed at the test's database and sandbox."""
    definitions = dg.Definitions.merge(gocardless_defs, dg.Definitions(resources=resources(sandbox)))
    return definitions.resolve_job_def(job_name).execute_in_process(
        run_config=run_config, asset_selection=asset_selection, raise_on_error=False
    )


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean the run wrote nothing anywhere."""
    with engine.connect() as db:
        tables = db.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars()
        return {table: sorted(db.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()) for table in list(tables)}


def accounts_of(engine: Engine, connection_id: str) -> int:
    with engine.connect() as db:
        return int(
            db.execute(
                text("SELECT count(*) FROM accounts WHERE connection_id = :c"), {"c": connection_id}
            ).scalar_one()
        )


def api_calls(sandbox: SandboxControl) -> int:
    return sum(sandbox.counters()["endpoints"].values())


def steps(result: dg.ExecuteInProcessResult, event_type: dg.DagsterEventType) -> list[str]:
    return [str(event.step_key) for event in result.all_events if event.event_type == event_type]


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        str(event.step_failure_data.user_failure_data.description)  # type: ignore[union-attr]
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_FAILURE
    ]


@pytest.fixture
def two_connections(pipeline_database: Engine, sandbox: SandboxControl) -> tuple[str, str]:
    """Two users' connections, stored as the bank callback stores them: an unscoped run would sync both."""
    first = connect_sandbox(pipeline_database, sandbox, customer="alice", account_count=1)
    second = connect_sandbox(pipeline_database, sandbox, customer="dmitri", account_count=1)
    sandbox.reset_counters()
    return str(first), str(second)


def assert_refused_untouched(
    result: dg.ExecuteInProcessResult,
    before: dict[str, list[str]],
    engine: Engine,
    sandbox: SandboxControl,
    message: str,
    first_steps: Sequence[str] = (FIRST_STEP,),
) -> None:
    """The run failed in its first steps with `message`; no other step started, no row changed, no bank call."""
    assert not result.success
    assert sorted(steps(result, dg.DagsterEventType.STEP_FAILURE)) == sorted(first_steps)
    assert sorted(steps(result, dg.DagsterEventType.STEP_START)) == sorted(first_steps)
    assert steps(result, dg.DagsterEventType.STEP_SUCCESS) == []
    assert all(message in text for text in failure_messages(result)), failure_messages(result)
    assert snapshot(engine) == before
    assert api_calls(sandbox) == 0


class TestAConnectionJobNeedsAConnection:
    def test_without_config_it_fails_at_its_first_step_and_touches_nothing(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        before = snapshot(pipeline_database)
        result = run_job(sandbox, CONNECTION_JOB)
        assert_refused_untouched(result, before, pipeline_database, sandbox, NO_CONNECTION)
        (message,) = failure_messages(result)
        assert "without it the run would sync every user's connections" in message
        assert all(op in message for op in CONNECTION_JOB_OPS)  # it says which ops to configure

    def test_a_subset_without_config_fails_too(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        """ "Materialize" a few of the job's assets from the UI, no config: still the connection job."""
        before = snapshot(pipeline_database)
        selection = [sync_key("connections"), sync_key("accounts")]
        result = run_job(sandbox, CONNECTION_JOB, asset_selection=selection)
        assert_refused_untouched(
            result, before, pipeline_database, sandbox, NO_CONNECTION, first_steps=["sync__gocardless__connections"]
        )

    def test_the_builders_run_syncs_its_connection_only(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        first, second = two_connections
        run = connection_run(first)
        result = run_job(sandbox, run.job, run.run_config)
        assert result.success
        assert sorted(steps(result, dg.DagsterEventType.STEP_SUCCESS)) == sorted(CONNECTION_JOB_OPS)
        assert accounts_of(pipeline_database, first) == 1
        assert accounts_of(pipeline_database, second) == 0

    def test_a_subset_needs_only_its_own_ops_named(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        """An op left out of the run is not asked for a connection it will never use."""
        first, _ = two_connections
        selected = ["source__gocardless__extract__requisitions", "sync__gocardless__connections"]
        config = {"ops": {op: {"config": {"connection_id": first}} for op in selected}}
        result = run_job(
            sandbox, CONNECTION_JOB, config, asset_selection=[extract_key("requisitions"), sync_key("connections")]
        )
        assert result.success
        assert sorted(steps(result, dg.DagsterEventType.STEP_SUCCESS)) == sorted(selected)


class TestEveryOpNamesTheSameConnection:
    @pytest.mark.parametrize(
        ("job_name", "unnamed", "first_steps"),
        [
            # The drift check runs last; the first step refuses the run on its behalf.
            (CONNECTION_JOB, LAST_OP, [FIRST_STEP]),
            # The full job, configured for the connection job's ops only: its institutions op (which calls the
            # bank) names none. Both of its first steps refuse the run.
            (
                FULL_SYNC_JOB,
                "source__gocardless__extract__institutions",
                [
                    "source__gocardless__extract__institutions",
                    FIRST_STEP,
                ],
            ),
        ],
    )
    def test_one_op_left_out_fails_the_run_before_touching_anything(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        two_connections: tuple[str, str],
        job_name: str,
        unnamed: str,
        first_steps: list[str],
    ) -> None:
        first, _ = two_connections
        config = connection_run(first).run_config
        config["ops"].pop(unnamed, None)
        before = snapshot(pipeline_database)
        result = run_job(sandbox, job_name, config)
        assert_refused_untouched(
            result,
            before,
            pipeline_database,
            sandbox,
            f"this run names connection {first} in some ops but not in {unnamed}:",
            first_steps,
        )

    def test_two_connections_fail_the_run_before_touching_anything(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        first, second = two_connections
        config = connection_run(first).run_config
        config["ops"][LAST_OP] = {"config": {"connection_id": second}}
        before = snapshot(pipeline_database)
        result = run_job(sandbox, CONNECTION_JOB, config)
        names = ", ".join(sorted([first, second]))
        assert_refused_untouched(
            result, before, pipeline_database, sandbox, f"this run names several connections ({names})"
        )


class TestTheFullJobWithoutConfig:
    def test_it_still_syncs_every_connection(
        self, pipeline_database: Engine, sandbox: SandboxControl, two_connections: tuple[str, str]
    ) -> None:
        first, second = two_connections
        result = run_job(sandbox, FULL_SYNC_JOB)
        assert result.success
        assert accounts_of(pipeline_database, first) == 1
        assert accounts_of(pipeline_database, second) == 1


# -- the Dagster UI --------------------------------------------------------------------------------------------

# What the UI's launchpad and its "Materialize all" button send: the job by name, the config as typed (nothing).
UI_LAUNCH = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""

RUN_OUTCOME = """
query ScopeRunOutcome($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status stepStats { stepKey status } }
  }
}
"""

STEP_FAILURES = """
query ScopeStepFailures($runId: ID!) {
  logsForRun(runId: $runId, limit: 1000) {
    __typename
    ... on EventConnection { events { __typename ... on ExecutionStepFailureEvent { stepKey error { message } } } }
  }
}
"""

CONNECTION_ASSETS = [
    ["source", "gocardless", "extract", "requisitions"],
    ["source", "gocardless", "extract", "account_details"],
    ["source", "gocardless", "extract", "account_balances"],
    ["source", "gocardless", "extract", "transactions"],
    ["sync", "gocardless", "connections"],
    ["sync", "gocardless", "accounts"],
    ["sync", "gocardless", "transactions"],
    ["sync", "gocardless", "balances"],
]


@pytest.mark.integration
@pytest.mark.xdist_group("dagster")
class TestLaunchedFromTheDagsterUi:
    @pytest.mark.parametrize("materialize_all", [False, True], ids=["launchpad", "materialize-all"])
    def test_the_connection_job_without_config_fails_at_its_first_step_and_calls_no_bank(
        self, dagster: LiveDagster, sandbox: SandboxControl, materialize_all: bool
    ) -> None:
        assert dagster.database_url is not None
        engine = create_engine(dagster.database_url)
        try:
            # A connection the run could have synced, had it run unscoped.
            connection_id = connect_sandbox(engine, sandbox, account_count=1)
            sandbox.reset_counters()
            selector: dict[str, Any] = {
                "repositoryLocationName": "finsync",
                "repositoryName": "__repository__",
                "pipelineName": CONNECTION_JOB,
            }
            if materialize_all:
                selector["assetSelection"] = [{"path": path} for path in CONNECTION_ASSETS]
            launched = dagster.query(
                UI_LAUNCH,
                {
                    "executionParams": {
                        "selector": selector,
                        "mode": "default",
                        "runConfigData": {},
                        "executionMetadata": {"tags": []},
                    }
                },
            )["launchPipelineExecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            run_id = launched["run"]["runId"]

            run = wait_until_finished(dagster, run_id)
            assert run["status"] == "FAILURE"
            by_status: dict[str, list[str]] = {}
            for step in run["stepStats"]:
                by_status.setdefault(step["status"], []).append(step["stepKey"])
            assert by_status.get("FAILURE") == [FIRST_STEP], by_status
            assert by_status.get("SUCCESS") is None, by_status
            failures = [
                event
                for event in dagster.query(STEP_FAILURES, {"runId": run_id})["logsForRun"]["events"]
                if event["__typename"] == "ExecutionStepFailureEvent"
            ]
            assert [event["stepKey"] for event in failures] == [FIRST_STEP]
            assert NO_CONNECTION in failures[0]["error"]["message"]
            assert api_calls(sandbox) == 0
            assert accounts_of(engine, str(connection_id)) == 0
        finally:
            engine.dispose()


def wait_until_finished(dagster: LiveDagster, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = dagster.query(RUN_OUTCOME, {"runId": run_id})["runOrError"]
        if run.get("status") in {"SUCCESS", "FAILURE", "CANCELED"}:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish within {timeout:.0f} s:\n{dagster.logs()}")
