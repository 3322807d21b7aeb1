"""A sync job's run reaching Dagster and ending, written once for the two places that see it happen.

The jobs service sees it when someone reads the job (it asks Dagster); the background sync's run-status sensors
(src/orchestration/background.py) see it in the daemon, so that a background job nobody looks at still finishes, and
its connection can be synced again. Whichever records the end first announces it (`sync.completed`, `sync.failed`,
`connection.rate_limited`): a job leaves the unfinished statuses once, under its row lock, so the announcement is
made exactly once.
"""

import logging
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from src.ingest.verdict import INTERNAL_FAILURE_MESSAGE, AccountOutcome, account_label, judge
from src.models import Account, Job, SyncOutcome
from src.models import jobs as job_table
from src.models.enums import (
    UNFINISHED_JOB_STATUSES,
    JobEntityType,
    JobStatus,
    JobTrigger,
    JobType,
    SyncOutcomeKind,
)
from src.notifications import EventType, enqueue

log = logging.getLogger(__name__)

CANCELED_MESSAGE = "The sync was canceled."

DAGSTER_STATUS = {
    "QUEUED": JobStatus.running,
    "NOT_STARTED": JobStatus.running,
    "MANAGED": JobStatus.running,
    "STARTING": JobStatus.running,
    "STARTED": JobStatus.running,
    "CANCELING": JobStatus.running,
    "SUCCESS": JobStatus.completed,
    "FAILURE": JobStatus.failed,
    "CANCELED": JobStatus.canceled,
}
"""Dagster's run statuses as a job's."""
FINISHED = (JobStatus.completed, JobStatus.failed, JobStatus.canceled)


def outcomes_of(session: Session, run_ids: list[str]) -> dict[str, list[AccountOutcome]]:
    """Each run's per-account outcomes, in account order, as the verdict reads them."""
    by_run: dict[str, list[AccountOutcome]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return by_run
    rows = session.execute(
        select(SyncOutcome, Account.display_name, Account.name, Account.iban)
        .join(Account, Account.id == SyncOutcome.account_id)
        .where(SyncOutcome.dagster_run_id.in_(run_ids))
        .order_by(Account.created_at, Account.id)
    )
    for outcome, display_name, name, iban in rows:
        by_run[outcome.dagster_run_id].append(
            AccountOutcome(
                account=account_label(display_name, name, iban),
                outcome=outcome.outcome,
                message=outcome.message,
                retry_at=outcome.retry_at,
            )
        )
    return by_run


def judge_jobs(session: Session, jobs: list[Job]) -> None:
    """Jobs whose run ended without crashing, judged by their accounts (`src.ingest.verdict`)."""
    by_run = outcomes_of(session, [job.dagster_run_id for job in jobs if job.dagster_run_id])
    for job in jobs:
        verdict = judge(by_run.get(job.dagster_run_id or "", []))
        job.status, job.error_message = verdict.status, verdict.message
        if verdict.status is JobStatus.failed:
            log.warning(
                "sync run synced no account",
                extra={"job_id": str(job.id), "run_id": job.dagster_run_id, "connection_id": str(job.entity_id)},
            )


def announce_finished(session: Session, job: Job) -> None:
    """The person's notifications of a job that has just finished (in the caller's transaction)."""
    if job.status not in FINISHED or job.status is JobStatus.canceled:
        return
    outcomes = (
        outcomes_of(session, [job.dagster_run_id]).get(job.dagster_run_id or "", []) if job.dagster_run_id else []
    )
    data = {
        "job_id": str(job.id),
        "connection_id": str(job.entity_id),
        "trigger": str(job.trigger),
        "status": str(job.status),
        "message": job.error_message,
        "completed_at": job.completed_at,
        "accounts": [{"account": o.account, "outcome": str(o.outcome), "message": o.message} for o in outcomes],
    }
    event = EventType.sync_completed if job.status is JobStatus.completed else EventType.sync_failed
    enqueue(session, user_id=job.user_id, event_type=event, data=data, occurred_at=job.completed_at)
    limited = [o for o in outcomes if o.outcome is SyncOutcomeKind.rate_limited]
    if limited:
        retry_at = min((o.retry_at for o in limited if o.retry_at is not None), default=None)
        enqueue(
            session,
            user_id=job.user_id,
            event_type=EventType.connection_rate_limited,
            data={
                "connection_id": str(job.entity_id),
                "job_id": str(job.id),
                "accounts": [o.account for o in limited],
                "retry_at": retry_at,
            },
            occurred_at=job.completed_at,
        )


def new_job(session: Session, *, user_id: uuid.UUID, connection_id: uuid.UUID, trigger: JobTrigger) -> uuid.UUID | None:
    """A pending sync job for the connection, or None when it has an unfinished one already: the partial unique
    index is the guard (INSERT … ON CONFLICT DO NOTHING), so a Sync now and the background sync, or two clicks in two
    API processes, never make two."""
    inserted: uuid.UUID | None = session.execute(
        insert(Job)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            job_type=JobType.sync,
            entity_type=JobEntityType.connection,
            entity_id=connection_id,
            status=JobStatus.pending,
            trigger=trigger,
        )
        .on_conflict_do_nothing(
            index_elements=[Job.job_type, Job.entity_type, Job.entity_id],
            index_where=job_table.UNFINISHED_JOB_PREDICATE,
        )
        .returning(Job.id)
    ).scalar_one_or_none()
    return inserted


def run_started(session: Session, job_id: uuid.UUID, run_id: str, at: datetime) -> None:
    """A job's run has started in Dagster: a background job learns its run (the sensor that asked for it could
    not know the id)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(UNFINISHED_JOB_STATUSES))
        .values(dagster_run_id=run_id, status=JobStatus.running, started_at=at)
        .execution_options(synchronize_session=False)
    )


def mark_ended(job: Job, status: JobStatus, at: datetime, failure_message: str | None = None) -> None:
    """A job whose run ended with `status` (completed, failed or canceled) at `at`, as both places that see the end
    record it. A failed run's own words (a step's exception, a traceback) go to the operator's log, never to the
    person's page, which reads the one sentence `INTERNAL_FAILURE_MESSAGE`. A completed run is judged by its accounts
    afterwards (`judge_jobs`), in one read for every job the caller finished."""
    job.status = status
    job.completed_at = at
    if status is JobStatus.failed:
        job.error_message = INTERNAL_FAILURE_MESSAGE
        log.error(
            "sync run failed",
            extra={
                "job_id": str(job.id),
                "run_id": job.dagster_run_id,
                "connection_id": str(job.entity_id),
                "failure": failure_message,
            },
        )
    elif status is JobStatus.canceled:
        job.error_message = CANCELED_MESSAGE


def run_ended(
    session: Session,
    job_id: uuid.UUID,
    run_id: str,
    dagster_status: str,
    at: datetime,
    failure_message: str | None = None,
) -> Job | None:
    """A job's run has ended in Dagster: the job's verdict and its announcement, once. None when the job had
    already been finished (by the jobs service, or an earlier evaluation). `failure_message`: the failed step's own
    words, for the operator's log (never the person's page)."""
    job = session.scalar(select(Job).where(Job.id == job_id, Job.status.in_(UNFINISHED_JOB_STATUSES)).with_for_update())
    if job is None:
        return None
    job.dagster_run_id = job.dagster_run_id or run_id
    mark_ended(job, DAGSTER_STATUS.get(dagster_status, JobStatus.failed), at, failure_message)
    if job.status is JobStatus.completed:
        judge_jobs(session, [job])
    session.flush()
    announce_finished(session, job)
    return job
