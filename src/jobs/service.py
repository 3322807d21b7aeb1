"""Sync jobs: what "Sync now" creates, launched as Dagster runs and refreshed lazily when someone looks.

- One unfinished sync job per connection: the partial unique index is the guard (INSERT … ON CONFLICT DO NOTHING),
  so concurrent clicks share one job and one run, across API processes too.
- A read asks Dagster at most once per job per second however many clients poll: the row's `status_checked_at`
  is claimed with a conditional UPDATE; whoever loses the claim reads the stored state.
- Dagster being down, paused or slow is a state: the job stays `pending` with a message, and a later read or click
  launches it again, at most once per job every LAUNCH_RETRY_INTERVAL whoever asks, for JOB_LAUNCH_WINDOW_MINUTES;
  then it fails ("could not reach the sync engine"). No request waits on Dagster longer than the API's client
  allows (DAGSTER_TIMEOUT_SECONDS, about a second).
- Runs are what `src.sync_runs.connection_run` builds (every op scoped to the connection, the connection's
  concurrency tag); every launch attempt adds the job's own tag (`finsync/job_id`): an attempt that ran out of
  time here may have created the run there, so the next attempt first asks for a run with that tag and adopts it
  if there is one, instead of starting a second.
- Blocked until: an account's transactions scope with no call left is blocked until `calls_back_at()`
  (src/models/gocardless.py): the bank's reset when it gave one, else one hour after the 429 was recorded. The
  extraction skips a blocked scope by the same expression; Sync now answers 429 when every account is blocked.
  Nothing here computes it again.
- The jobs domain knows connections only as rows (`src.models`): the connections domain, above it, finds the
  caller's connection and hands it to `start_sync`.

Reads answer domain objects (the Job row, or a `JobView` with its outcomes); `schemas.py` shapes them for the API.
"""

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from src.ingest.job_runs import (
    DAGSTER_STATUS,
    FINISHED,
    announce_finished,
    judge_jobs,
    mark_ended,
    new_job,
)
from src.jobs.exceptions import (
    ConnectionNotSyncableError,
    JobFinishedError,
    JobNotFoundError,
    RateLimitedError,
    SyncEngineUnavailableError,
)
from src.models import Account, Connection, GcAccount, GcAccountLimit, Job, SyncOutcome, User
from src.models.connections import effective_status
from src.models.enums import (
    UNFINISHED_JOB_STATUSES,
    ConnectionStatus,
    GcAccessState,
    GcScope,
    JobEntityType,
    JobStatus,
    JobTrigger,
    JobType,
    Provider,
)
from src.models.gocardless import calls_back_at
from src.providers.dagster.client import (
    DagsterClient,
    Launched,
    NotFound,
    Rejected,
    RunState,
    Terminated,
    Unreachable,
)
from src.settings import settings
from src.sync_runs import JOB_TAG, PersonPresent, connection_run

log = logging.getLogger(__name__)

POLL_INTERVAL = timedelta(seconds=1)  # between two reads of a job's run
LAUNCH_RETRY_INTERVAL = timedelta(seconds=5)  # between two launch attempts of a job that has no run yet
UNREACHABLE_MESSAGE = "The sync engine is not answering yet; finsync keeps trying to start this sync."
GAVE_UP_MESSAGE = "could not reach the sync engine"
FORGOTTEN_MESSAGE = "The sync engine no longer knows this run; please start the sync again."


@dataclass(frozen=True)
class JobView:
    """A job with its run's per-account outcomes (in account order), as the API shows it."""

    job: Job
    outcomes: list[SyncOutcome]


class JobService:
    # -- starting -------------------------------------------------------------------------------------------------
    def start_sync(
        self, session: Session, dagster: DagsterClient, connection: Connection, person: PersonPresent | None = None
    ) -> tuple[Job, bool]:
        """(job, created) for the connection the caller resolved (its owner's). An unfinished job for the
        connection is returned as it is (launched if it was not). `person`: who pressed Sync now, forwarded to a
        provider that tells attended reads apart (Enable Banking); a relaunch after an outage has none."""
        # "Syncable connection": effective status active, the rule `currently_active()` states in SQL for Sync all
        # and the schedule; here for one row already loaded.
        status = effective_status(connection, datetime.now(UTC))
        if status is not ConnectionStatus.active:
            raise ConnectionNotSyncableError(
                f"This connection is {status.value}; only an active connection can be synced."
            )
        retry_at = self.rate_limited_until(session, connection.id)
        if retry_at is not None:
            seconds = max(1, math.ceil((retry_at - datetime.now(UTC)).total_seconds()))
            raise RateLimitedError(
                f"The bank allows no more syncs of this connection until {retry_at.isoformat()}.",
                headers={"Retry-After": str(seconds)},
                extra={"retry_at": retry_at.isoformat()},
            )
        inserted = new_job(session, user_id=connection.user_id, connection_id=connection.id, trigger=JobTrigger.manual)
        if inserted is None:
            existing = session.scalar(
                select(Job).where(
                    Job.job_type == JobType.sync,
                    Job.entity_type == JobEntityType.connection,
                    Job.entity_id == connection.id,
                    Job.status.in_(UNFINISHED_JOB_STATUSES),
                )
            )
            if existing is not None:
                self.refresh(session, dagster, existing)
                return existing, False
            raise SyncEngineUnavailableError("Please try again.")  # pragma: no cover - finished between two statements
        job = session.get(Job, inserted)
        assert job is not None
        self._launch(session, dagster, job, person)
        log.info("sync job created", extra={"job_id": str(job.id), "connection_id": str(connection.id)})
        return job, True

    def rate_limited_until(self, session: Session, connection_id: uuid.UUID) -> datetime | None:
        """The earliest reset when every account of the connection has no transactions call left, else None.
        Each account is blocked until `calls_back_at()`: see the module's docstring."""
        back = calls_back_at()
        blocked = back > func.now()
        row = session.execute(
            select(
                func.count().label("total"),
                func.count().filter(blocked).label("blocked"),
                func.min(back).filter(blocked).label("earliest"),
            )
            .select_from(Account)
            .join(GcAccount, (GcAccount.id == Account.provider_id) & (Account.provider == Provider.gocardless))
            .outerjoin(
                GcAccountLimit,
                (GcAccountLimit.gc_account_id == GcAccount.id) & (GcAccountLimit.scope == GcScope.transactions),
            )
            .where(Account.connection_id == connection_id, GcAccount.access_state == GcAccessState.ok)
        ).one()
        if row.total and row.blocked == row.total:
            earliest: datetime = row.earliest
            return earliest
        return None

    def _launch(self, session: Session, dagster: DagsterClient, job: Job, person: PersonPresent | None = None) -> None:
        now = datetime.now(UTC)
        window = timedelta(minutes=settings.job_launch_window_minutes)
        retry = job.launch_attempts > 0
        job.launch_attempts += 1
        # The one builder of a connection's run: every op scoped to it, and its concurrency tag, so that Dagster
        # never runs two syncs of one connection at once.
        provider = session.scalar(select(Connection.provider).where(Connection.id == job.entity_id))
        run = connection_run(str(job.entity_id), str(provider or Provider.gocardless), person)
        result = dagster.launch(
            run.job,
            run.run_config,
            tags={**run.tags, JOB_TAG: str(job.id)},
            adopt_tagged=JOB_TAG if retry else None,
        )
        context = {"job_id": str(job.id), "connection_id": str(job.entity_id), "attempt": job.launch_attempts}
        if isinstance(result, Launched):
            job.dagster_run_id = result.run_id
            job.status = JobStatus.running
            job.error_message = None
            # Adopted: an earlier attempt that ran out of time here had created the run there.
            log.info(
                "sync run adopted" if result.adopted else "sync run launched",
                extra={**context, "run_id": result.run_id},
            )
        elif isinstance(result, Rejected):
            job.status = JobStatus.failed
            job.error_message = f"The sync engine refused to start the sync: {result.reason}"
            job.completed_at = now
            log.error("sync run refused", extra={**context, "reason": result.reason})
        elif now - job.created_at >= window:
            self._give_up(job, now)
        else:
            job.error_message = UNREACHABLE_MESSAGE
            log.warning("sync engine unreachable", extra={**context, "reason": result.reason})
        job.status_checked_at = now
        session.flush()

    @staticmethod
    def _give_up(job: Job, now: datetime) -> None:
        job.status = JobStatus.failed
        job.error_message = GAVE_UP_MESSAGE
        job.completed_at = now
        log.error("sync job gave up launching", extra={"job_id": str(job.id), "attempts": job.launch_attempts})

    # -- refreshing -----------------------------------------------------------------------------------------------
    def _claim(self, session: Session, job_ids: list[uuid.UUID]) -> list[Job]:
        """Claim the right to ask Dagster about these jobs now, across processes: a job's run is read at most once a
        second, a job without a run is launched again at most once every LAUNCH_RETRY_INTERVAL.

        The claim answers the claimed rows as they are now (another process may have moved them on since they were
        read), loaded into the session in place of the stale copies: no second read."""
        if not job_ids:
            return []
        # SKIP LOCKED: while one request holds the claim (and asks Dagster), the others do not queue behind its
        # row lock; they answer at once with the state stored last.
        interval = case((Job.dagster_run_id.is_(None), LAUNCH_RETRY_INTERVAL), else_=POLL_INTERVAL)
        due = (
            select(Job.id)
            .where(
                Job.id.in_(job_ids),
                Job.status.in_(UNFINISHED_JOB_STATUSES),
                (Job.status_checked_at.is_(None)) | (Job.status_checked_at <= func.clock_timestamp() - interval),
            )
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(Job)
            .where(Job.id.in_(due.scalar_subquery()))
            .values(status_checked_at=func.clock_timestamp())
            .returning(Job)
        )
        claimed = session.scalars(
            select(Job).from_statement(claim).execution_options(populate_existing=True, synchronize_session=False)
        )
        return list(claimed)

    def refresh(self, session: Session, dagster: DagsterClient, job: Job) -> None:
        self.refresh_many(session, dagster, [job])

    def refresh_many(self, session: Session, dagster: DagsterClient, jobs: list[Job]) -> None:
        """Bring unfinished jobs up to date with Dagster: launch those without a run (or give up after the launch
        window), read the others' runs in one request."""
        claimed = self._claim(session, [job.id for job in jobs if job.status not in FINISHED])
        if not claimed:
            return
        for job in [j for j in claimed if j.dagster_run_id is None]:
            self._relaunch_or_give_up(session, dagster, job)
        running = {job.dagster_run_id: job for job in claimed if job.dagster_run_id is not None}
        if running:
            results = dagster.runs(list(running))
            if not isinstance(results, Unreachable):
                for run_id, job in running.items():
                    self._apply(job, results.get(run_id, NotFound(run_id)))
                self._judge(session, [job for job in running.values() if job.status is JobStatus.completed])
        session.flush()
        # Finished here, under the claim: announced once (the background sync's sensors skip a finished job).
        for job in claimed:
            if job.status in FINISHED:
                announce_finished(session, job)

    @staticmethod
    def _judge(session: Session, jobs: list[Job]) -> None:
        """A run that ended without crashing is judged by its accounts (`src.ingest.verdict`)."""
        if jobs:
            judge_jobs(session, jobs)

    def _relaunch_or_give_up(self, session: Session, dagster: DagsterClient, job: Job) -> None:
        if datetime.now(UTC) - job.created_at >= timedelta(minutes=settings.job_launch_window_minutes):
            self._give_up(job, datetime.now(UTC))
            session.flush()
        elif job.trigger is not JobTrigger.scheduled:
            # A background job's run is launched by the daemon (the sensor asked for it); it learns its run id when
            # the run starts (src/orchestration/background.py). Launching it here would run the connection twice.
            self._launch(session, dagster, job)

    @staticmethod
    def _apply(job: Job, result: RunState | NotFound) -> None:
        now = datetime.now(UTC)
        if isinstance(result, NotFound):
            job.status = JobStatus.failed
            job.error_message = FORGOTTEN_MESSAGE
            job.completed_at = now
            return
        status = DAGSTER_STATUS.get(result.status, JobStatus.running)
        job.started_at = result.start_time or job.started_at
        if result.steps_total:
            job.progress_done, job.progress_total = result.steps_done, result.steps_total
        if status in FINISHED:
            mark_ended(job, status, result.end_time or now, result.failure_message)
        else:
            job.status = status

    # -- reading --------------------------------------------------------------------------------------------------
    def _own(self, session: Session, user: User, job_id: uuid.UUID) -> Job:
        job = session.scalar(select(Job).where(Job.id == job_id, Job.user_id == user.id))
        if job is None:
            raise JobNotFoundError("There is no such job.")
        return job

    def get(self, session: Session, dagster: DagsterClient, user: User, job_id: uuid.UUID) -> Job:
        job = self._own(session, user, job_id)
        self.refresh(session, dagster, job)
        return job

    def list_jobs(
        self,
        session: Session,
        dagster: DagsterClient,
        user: User,
        *,
        entity_type: JobEntityType | None,
        entity_id: uuid.UUID | None,
        status: JobStatus | None,
        limit: int,
    ) -> list[Job]:
        statement = select(Job).where(Job.user_id == user.id)
        if entity_type is not None:
            statement = statement.where(Job.entity_type == entity_type)
        if entity_id is not None:
            statement = statement.where(Job.entity_id == entity_id)
        jobs = list(session.scalars(statement.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)))
        self.refresh_many(session, dagster, jobs)
        if status is not None:
            jobs = [job for job in jobs if job.status is status]
        return jobs

    def cancel(self, session: Session, dagster: DagsterClient, user: User, job_id: uuid.UUID) -> Job:
        job = self._own(session, user, job_id)
        if job.status in FINISHED:
            raise JobFinishedError(f"This job has already {job.status.value}.")
        if job.dagster_run_id is None:
            job.status = JobStatus.canceled
            job.error_message = "The sync was canceled before it started."
            job.completed_at = datetime.now(UTC)
            session.flush()
            return job
        result = dagster.terminate(job.dagster_run_id)
        if isinstance(result, Unreachable):
            raise SyncEngineUnavailableError(
                "The sync engine is not answering; the sync could not be canceled.", headers={"Retry-After": "5"}
            )
        if isinstance(result, NotFound):
            self._apply(job, result)
        elif isinstance(result, Terminated | Rejected):
            job.error_message = "Canceling…"
            job.status_checked_at = None  # the next read asks Dagster at once
        session.flush()
        log.info("sync job cancel requested", extra={"job_id": str(job.id), "run_id": job.dagster_run_id})
        return job

    # -- with outcomes --------------------------------------------------------------------------------------------
    def views(self, session: Session, jobs: list[Job]) -> list[JobView]:
        """The jobs with their runs' per-account outcomes, loaded in one query."""
        run_ids = [job.dagster_run_id for job in jobs if job.dagster_run_id]
        outcomes: dict[str, list[SyncOutcome]] = {}
        if run_ids:
            rows = session.scalars(
                select(SyncOutcome)
                .join(Account, Account.id == SyncOutcome.account_id)
                .where(SyncOutcome.dagster_run_id.in_(run_ids))
                .order_by(SyncOutcome.dagster_run_id, Account.created_at, Account.id)
            )
            for row in rows:
                outcomes.setdefault(row.dagster_run_id, []).append(row)
        return [JobView(job, outcomes.get(job.dagster_run_id or "", [])) for job in jobs]

    def view(self, session: Session, job: Job) -> JobView:
        return self.views(session, [job])[0]


job = JobService()
