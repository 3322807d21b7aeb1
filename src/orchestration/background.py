"""The background sync: on by default, every active connection synced when the quota planner says it is due.

- `background_sync_sensor(provider)`: a sensor per provider, RUNNING from the instance's first start (no click in
  the Dagster UI), that every BACKGROUND_TICK_SECONDS asks for a run of each due connection (src/ingest/background.py)
  — the connection run Sync now launches, marked `scheduled`, so that its extraction reads only the scopes the
  planner says are due and never the call kept for the person's Sync now. Each run has a job, shown in the
  connection's history, and its run key is the job's id: the daemon never launches one job twice.
- `JOB_RUN_SENSORS`: run-status sensors that tell a job its run has started (a background job learns its run id)
  and has ended (the verdict and the person's notifications, `src.ingest.job_runs`), whoever launched the run: a
  job nobody looks at still finishes, and its connection can be synced again.
"""

import uuid
from datetime import datetime, timedelta
from typing import Optional

import dagster as dg
from sqlalchemy.orm import Session

from src import clock
from src.ingest.background import fail_unstarted, start_due_syncs, unfinished_runs
from src.ingest.job_runs import run_ended, run_started
from src.orchestration.resources import PostgresDatabase
from src.settings import settings
from src.sync_runs import JOB_TAG, PROVIDER_CONNECTION_JOBS, connection_run

BACKGROUND_TICK_SECONDS = 300
"""How often the planner is asked: due times are spread hours apart, so five minutes late costs nothing."""


def background_sync_sensor(provider: str) -> dg.SensorDefinition:
    """The provider's background sync (the module's rule)."""
    job_name, _ = PROVIDER_CONNECTION_JOBS[provider]

    @dg.sensor(
        name=f"{provider}_background_sync",
        job_name=job_name,
        minimum_interval_seconds=BACKGROUND_TICK_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Every {BACKGROUND_TICK_SECONDS // 60} minutes: a run of each active {provider} connection the "
        "quota planner says is due (src/ingest/quota.py), reading only its due scopes.",
    )
    def _sensor(context: dg.SensorEvaluationContext, postgres_database: PostgresDatabase) -> dg.SensorResult:
        if not settings.background_sync:
            return dg.SensorResult(skip_reason="BACKGROUND_SYNC is off")
        now = clock.now()
        with postgres_database.unit_of_work() as session:
            failed = fail_unstarted(session, now, timedelta(minutes=settings.job_launch_window_minutes))
            _settle_runs_left_unfinished(context.instance, session, provider, now)
            due = start_due_syncs(session, provider, now)
        requests = []
        for connection in due:
            run = connection_run(str(connection.connection_id), provider, scheduled=True)
            requests.append(
                dg.RunRequest(
                    run_key=str(connection.job_id),
                    job_name=run.job,
                    run_config=run.run_config,
                    tags={**run.tags, JOB_TAG: str(connection.job_id)},
                )
            )
        if requests or failed:
            context.log.info(f"{provider}: {len(requests)} connections due, {failed} unstarted jobs failed")
        return dg.SensorResult(run_requests=requests)

    return _sensor


STALE_RUN_AFTER = timedelta(hours=1)
"""A connection run takes minutes; a job still unfinished an hour after its run started is asked about."""


def _settle_runs_left_unfinished(instance: dg.DagsterInstance, session: Session, provider: str, now: datetime) -> None:
    """Jobs whose run ended (or that Dagster no longer knows) without a run-status sensor finishing them."""
    for job_id, run_id in unfinished_runs(session, provider, now - STALE_RUN_AFTER):
        run = instance.get_run_by_id(run_id)
        if run is None:
            run_ended(session, job_id, run_id, "FAILURE", now, "Dagster no longer knows this run")
        elif run.is_finished:
            run_ended(session, job_id, run_id, run.status.value, now)


def _job_of(run: dg.DagsterRun) -> Optional[uuid.UUID]:
    value = run.tags.get(JOB_TAG)
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.STARTED,
    name="sync_job_run_started",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A sync job's run has started: the job learns its run (background jobs are launched by the daemon).",
)
def sync_job_run_started(context: dg.RunStatusSensorContext, postgres_database: PostgresDatabase) -> None:
    job_id = _job_of(context.dagster_run)
    if job_id is None:
        return
    with postgres_database.unit_of_work() as session:
        run_started(session, job_id, context.dagster_run.run_id, clock.now())


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> Optional[str]:
    """The failed step's own words (its exception, not Dagster's wrapper), for the operator's log."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        error = event.step_failure_data.error if event is not None and event.step_failure_data else None
        if error is not None:
            return str((error.cause or error).message)
    return None


def _run_ended_sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"sync_job_run_{status.value.lower()}",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"A sync job's run ended ({status.value}): its verdict and the person's notifications, once.",
    )
    def _sensor(context: dg.RunStatusSensorContext, postgres_database: PostgresDatabase) -> None:
        job_id = _job_of(context.dagster_run)
        if job_id is None:
            return
        run_id = context.dagster_run.run_id
        failure = _failure_message(context.instance, run_id) if status is dg.DagsterRunStatus.FAILURE else None
        with postgres_database.unit_of_work() as session:
            run_ended(session, job_id, run_id, status.value, clock.now(), failure)

    return _sensor


JOB_RUN_SENSORS = [
    sync_job_run_started,
    *(
        _run_ended_sensor(status)
        for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    ),
]
