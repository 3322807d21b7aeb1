"""Which connections the background sync runs now, and their jobs: the database side of the background sync sensor
(src/orchestration/background.py).

A connection is synced in the background when it is active (its consent not past), has no unfinished job (a Sync
now in flight, or the last background run), and the quota planner says it is due (src/ingest/quota.py). Each gets a
`scheduled` job, so that the run appears in the connection's job history like a Sync now, marked as scheduled. The
daemon launches the run the sensor asks for; a job whose run never started (the daemon refused it, or was stopped)
fails after JOB_LAUNCH_WINDOW_MINUTES, so that it never blocks the connection's next sync.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from src.ingest.allowances import connection_plans
from src.ingest.job_runs import new_job
from src.models import Connection, Job
from src.models.enums import UNFINISHED_JOB_STATUSES, ConnectionStatus, JobEntityType, JobStatus, JobTrigger

NOT_STARTED_MESSAGE = "The background sync could not start this run; it will try again."


@dataclass(frozen=True)
class DueConnection:
    connection_id: uuid.UUID
    job_id: uuid.UUID


def start_due_syncs(session: Session, provider: str, now: datetime) -> list[DueConnection]:
    """A scheduled job for each of `provider`'s connections due now (the caller launches their runs and commits)."""
    unfinished = exists().where(
        Job.entity_type == JobEntityType.connection,
        Job.entity_id == Connection.id,
        Job.status.in_(UNFINISHED_JOB_STATUSES),
    )
    candidates = session.execute(
        select(Connection.id, Connection.user_id)
        .where(
            Connection.provider == provider,
            Connection.status == ConnectionStatus.active,
            or_(Connection.expires_at.is_(None), Connection.expires_at > now),
            ~unfinished,
        )
        .order_by(Connection.created_at, Connection.id)
    ).all()
    owners = {connection_id: user_id for connection_id, user_id in candidates}
    plans = connection_plans(session, list(owners), now)
    started = []
    for connection_id, plan in plans.items():
        if not plan.due:
            continue
        job_id = new_job(
            session, user_id=owners[connection_id], connection_id=connection_id, trigger=JobTrigger.scheduled
        )
        if job_id is not None:
            started.append(DueConnection(connection_id, job_id))
    return started


def unfinished_runs(session: Session, provider: str, started_before: datetime) -> list[tuple[uuid.UUID, str]]:
    """(job, run) of `provider`'s connections whose job still says its run is going after `started_before`: the
    background sync asks Dagster about them, so that a run-status event that never arrived (the sensor was off, or
    Dagster lost the run) cannot keep a connection from its next sync."""
    rows = session.execute(
        select(Job.id, Job.dagster_run_id)
        .join(Connection, Connection.id == Job.entity_id)
        .where(
            Job.entity_type == JobEntityType.connection,
            Job.status.in_(UNFINISHED_JOB_STATUSES),
            Job.dagster_run_id.is_not(None),
            func.coalesce(Job.started_at, Job.created_at) < started_before,
            Connection.provider == provider,
        )
    ).all()
    return [(job_id, str(run_id)) for job_id, run_id in rows]


def fail_unstarted(session: Session, now: datetime, window: timedelta) -> int:
    """Background jobs whose run has not started within `window`: failed, so the connection can be synced again."""
    result = session.execute(
        update(Job)
        .where(
            and_(
                Job.trigger == JobTrigger.scheduled,
                Job.status == JobStatus.pending,
                Job.dagster_run_id.is_(None),
                # created_at is the database's time, like the rest of a job's bookkeeping.
                Job.created_at <= func.now() - window,
            )
        )
        .values(status=JobStatus.failed, error_message=NOT_STARTED_MESSAGE, completed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
