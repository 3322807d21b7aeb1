"""The background sync as Dagster drives it: the sensors evaluated with their resources, the runs they ask for
materialized in-process against real PostgreSQL and the sandbox over HTTP, and the run-status sensors' work done as
the daemon does it when a run starts and ends. A simulated week moves finsync's clock and the sandbox's together.
"""

import contextlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from src import clock
from src.db import unit_of_work
from src.ingest.job_runs import new_job, run_ended, run_started
from src.ingest.verdict import INTERNAL_FAILURE_MESSAGE
from src.models import Job, SyncOutcome
from src.models.enums import JobStatus, JobTrigger, SyncOutcomeKind
from src.orchestration.gocardless.definitions import CONNECTION_ASSET_KEYS, gocardless_background_sync
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS
from src.orchestration.resources import PostgresDatabase
from src.sync_runs import JOB_TAG, TRIGGER_TAG, connection_run
from tests.harness.ingest import connect_sandbox
from tests.harness.pipeline import resources
from tests.harness.sandbox import SandboxControl


def evaluate(sensor: dg.SensorDefinition) -> list[dg.RunRequest]:
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(instance=instance, resources={"postgres_database": PostgresDatabase()}) as context,
    ):
        result = sensor(context)  # type: ignore[call-arg]
    assert isinstance(result, dg.SensorResult)
    return list(result.run_requests or [])


def jobs_of(engine: Engine, connection_id: uuid.UUID) -> list[Job]:
    with Session(engine) as session:
        return list(session.scalars(select(Job).where(Job.entity_id == connection_id).order_by(Job.created_at)))


def materialize(sandbox: SandboxControl, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """The run the request asks for, in this process (the daemon would launch it as a run of the connection job)."""
    return dg.materialize(
        [*EXTRACTION_ASSETS, *SYNC_ASSETS, *SYNC_CHECKS],
        selection=CONNECTION_ASSET_KEYS,
        resources=resources(sandbox),
        run_config=request.run_config,
        tags=request.tags,
    )


def drive(engine: Engine, sandbox: SandboxControl, request: dg.RunRequest) -> str:
    """Start, run and end the requested run as the daemon and the run-status sensors would; the run id."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    job_id = uuid.UUID(str(request.tags[JOB_TAG]))
    result = materialize(sandbox, request)
    with unit_of_work(factory) as session:
        run_started(session, job_id, result.run_id, clock.now())
    with unit_of_work(factory) as session:
        run_ended(session, job_id, result.run_id, "SUCCESS" if result.success else "FAILURE", clock.now())
    return result.run_id


def sync_now(
    engine: Engine, sandbox: SandboxControl, connection_id: uuid.UUID, user_id: uuid.UUID
) -> list[SyncOutcomeKind]:
    """The person's Sync now, as the jobs service starts it (a manual job, the connection run without `scheduled`);
    the run's per-account outcomes."""
    with unit_of_work(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        job_id = new_job(session, user_id=user_id, connection_id=connection_id, trigger=JobTrigger.manual)
    assert job_id is not None, "a background run was in flight at the person's click"
    run = connection_run(str(connection_id))
    run_id = drive(engine, sandbox, dg.RunRequest(run_config=run.run_config, tags={**run.tags, JOB_TAG: str(job_id)}))
    with Session(engine) as session:
        return list(session.scalars(select(SyncOutcome.outcome).where(SyncOutcome.dagster_run_id == run_id)))


class TestTheSensor:
    def test_it_asks_for_each_due_active_connection_with_a_scheduled_job_and_once(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        active = connect_sandbox(pipeline_database, sandbox)
        expired = connect_sandbox(pipeline_database, sandbox, customer="dmitri")
        lapsed = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        with pipeline_database.begin() as db:
            db.execute(text("UPDATE connections SET status = 'expired' WHERE id = :c"), {"c": expired})
            db.execute(
                text("UPDATE connections SET expires_at = now() - interval '1 day' WHERE id = :c"), {"c": lapsed}
            )

        requests = evaluate(gocardless_background_sync)

        [job] = jobs_of(pipeline_database, active)
        assert (job.trigger, job.status, job.dagster_run_id) == (JobTrigger.scheduled, JobStatus.pending, None)
        run = connection_run(str(active), scheduled=True)
        assert [(r.run_key, r.job_name, r.run_config, r.tags) for r in requests] == [
            (str(job.id), run.job, run.run_config, {**run.tags, JOB_TAG: str(job.id)})
        ]
        assert run.tags[TRIGGER_TAG] == "scheduled"
        assert all(op["config"]["scheduled"] is True for op in run.run_config["ops"].values())
        assert jobs_of(pipeline_database, expired) == jobs_of(pipeline_database, lapsed) == []
        assert evaluate(gocardless_background_sync) == []  # its job is unfinished: not asked twice

    def test_a_connection_with_a_sync_now_in_flight_is_left_to_it(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        factory = sessionmaker(bind=pipeline_database, expire_on_commit=False)
        with unit_of_work(factory) as session:
            user_id = session.execute(
                text("SELECT user_id FROM connections WHERE id = :c"), {"c": connection_id}
            ).scalar_one()
            assert new_job(session, user_id=user_id, connection_id=connection_id, trigger=JobTrigger.manual)
        assert evaluate(gocardless_background_sync) == []

    def test_a_run_dagster_lost_does_not_keep_the_connection_from_its_next_sync(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        [request] = evaluate(gocardless_background_sync)
        with pipeline_database.begin() as db:  # its run started two hours ago, and no run-status event ever came
            db.execute(
                text(
                    "UPDATE jobs SET status = 'running', dagster_run_id = 'lost-run', "
                    "started_at = now() - interval '2 hours' WHERE id = :j"
                ),
                {"j": request.run_key},
            )
        [again] = evaluate(gocardless_background_sync)
        lost, new = jobs_of(pipeline_database, connection_id)
        assert (lost.status, lost.error_message) == (JobStatus.failed, INTERNAL_FAILURE_MESSAGE)
        assert (new.status, str(new.id)) == (JobStatus.pending, again.run_key)

    def test_a_run_reads_only_due_scopes_and_finishes_its_job_with_the_verdict(
        self, pipeline_database: Engine, sandbox: SandboxControl
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox, account_count=2)
        [request] = evaluate(gocardless_background_sync)
        run_id = drive(pipeline_database, sandbox, request)
        [job] = jobs_of(pipeline_database, connection_id)
        assert (job.status, job.dagster_run_id, job.trigger) == (JobStatus.completed, run_id, JobTrigger.scheduled)
        with Session(pipeline_database) as session:
            outcomes = session.scalars(select(SyncOutcome.outcome).where(SyncOutcome.dagster_run_id == run_id)).all()
        assert outcomes == [SyncOutcomeKind.synced] * 2

        # Nothing is due an hour later (the next read is hours away): no request, no call.
        sandbox.reset_counters()
        with clock.moved_by(timedelta(hours=1)):
            assert evaluate(gocardless_background_sync) == []
        assert sum(sandbox.counters()["endpoints"].values()) == 0


class SimulatedClock:
    """finsync's clock and the sandbox's, moved together."""

    def __init__(self, sandbox: SandboxControl) -> None:
        self.sandbox = sandbox
        sandbox_now = datetime.fromisoformat(sandbox.clock()["now"])
        midnight = datetime.combine(sandbox_now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        self.offset = timedelta(0)
        self.advance(midnight - sandbox_now)  # days start at the sandbox's midnight

    def advance(self, step: timedelta) -> None:
        self.sandbox.advance_clock(seconds=step.total_seconds())
        self.offset += step

    def present(self) -> "contextlib.AbstractContextManager[None]":
        return clock.moved_by(self.offset)


def test_a_simulated_week_syncs_every_account_three_times_a_day_and_never_spends_the_persons_call(
    pipeline_database: Engine, sandbox: SandboxControl
) -> None:
    """Seven days in three-hour steps: the background sensor evaluated at each step and its runs driven as the daemon
    drives them; the person presses Sync now at noon every day. Per account, scope and day: the calls the bank
    answered, and that none was made with no call left."""
    # The company-wide windows count real seconds, and the week passes in about a minute: widened so that they do
    # not stand in for the per-account allowance this test is about.
    sandbox.set_limits(account_daily=4, general={bucket: 100_000 for bucket in ("account_data", "read")})
    simulated = SimulatedClock(sandbox)
    connection_id = connect_sandbox(pipeline_database, sandbox, account_count=2)
    with Session(pipeline_database) as session:
        user_id = session.execute(
            text("SELECT user_id FROM connections WHERE id = :c"), {"c": connection_id}
        ).scalar_one()
    step = timedelta(hours=3)
    table: dict[tuple[int, str, str], int] = defaultdict(int)
    refused: list[Any] = []
    person_outcomes: list[list[SyncOutcomeKind]] = []

    for day in range(7):
        sandbox.reset_counters()
        for hour in range(0, 24, 3):
            with simulated.present():
                if hour == 12:
                    person_outcomes.append(sync_now(pipeline_database, sandbox, connection_id, user_id))
                for request in evaluate(gocardless_background_sync):
                    drive(pipeline_database, sandbox, request)
            simulated.advance(step)
        for account_id, scopes in sandbox.counters()["accounts"].items():
            for scope, counter in scopes.items():
                table[(day, account_id, scope)] += counter["ok"]
                if counter["over_quota_calls"] or counter["rate_limited"]:
                    refused.append((day, account_id, scope, counter))

    accounts = sorted({account for _, account, _ in table})
    print("\ncalls the bank answered, per account, scope and day (details / balances / transactions):")
    for account in accounts:
        cells = [
            "/".join(str(table[(day, account, scope)]) for scope in ("details", "balances", "transactions"))
            for day in range(7)
        ]
        print(f"  {account[:8]}  " + "  ".join(cells))
    assert len(accounts) == 2
    assert refused == []
    assert len(person_outcomes) == 7
    assert all(outcomes == [SyncOutcomeKind.synced] * 2 for outcomes in person_outcomes)
    for day in range(7):
        for account in accounts:
            assert table[(day, account, "transactions")] >= 3, (day, account)
            assert table[(day, account, "transactions")] <= 4
            assert table[(day, account, "balances")] <= 4
    # Details: the background reads them once (missing), then not within the week; the person's Sync now reads
    # them with every sync.
    assert [table[(day, accounts[0], "details")] for day in range(7)] == [2, 1, 1, 1, 1, 1, 1]
