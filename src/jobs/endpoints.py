"""Sync jobs: "Sync now" for one connection or all, a job's status (polled by the frontend), the list, cancel."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from src.auth.dependencies import CurrentUser
from src.jobs.schemas import JobRead
from src.jobs.service import RateLimitedError
from src.jobs.service import job as job_service
from src.kit.dependencies import DagsterDep, SessionDep
from src.kit.pagination import MAX_LIMIT
from src.kit.responses import LOCATION, error_responses
from src.kit.schemas import Page
from src.models.enums import JobEntityType, JobStatus

router = APIRouter(tags=["jobs"])


@router.post(
    "/api/connections/{connection_id:uuid}/sync",
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {
            "model": JobRead,
            "description": "A sync of this connection is already under way: that job.",
            "headers": {"Location": LOCATION},
        },
        202: {"description": "A sync has started: the new job.", "headers": {"Location": LOCATION}},
        **error_responses(401, 404, 409, 429),
    },
)
def sync_connection(
    connection_id: uuid.UUID, session: SessionDep, dagster: DagsterDep, user: CurrentUser, response: Response
) -> JobRead:
    """Sync now. 202 with a new job (poll `Location`), or 200 with the unfinished one. 429 with `retry_at` when
    every account of the connection has used up its daily allowance (no run is started). If the sync engine is
    down the job stays `pending` with a message and starts as soon as it answers."""
    job, created = job_service.start_sync(session, dagster, user.id, connection_id)
    response.status_code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job_service.read_models(session, [job])[0]


@router.post("/api/sync", response_model=Page[JobRead], responses=error_responses(401))
def sync_all(session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> Page[JobRead]:
    """Sync now for every active connection of the caller; connections with no allowance left are skipped."""
    jobs = []
    for connection_id in job_service.active_connection_ids(session, user):
        try:
            jobs.append(job_service.start_sync(session, dagster, user.id, connection_id)[0])
        except RateLimitedError:
            continue
    return Page[JobRead](items=job_service.read_models(session, jobs), next_cursor=None)


@router.get("/api/jobs/{job_id:uuid}", response_model=JobRead, responses=error_responses(401, 404))
def get_job(job_id: uuid.UUID, session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> JobRead:
    """A job's status, progress, failure message and per-account outcomes. Poll it every second or two: the
    sync engine is asked at most once a second per job, however many clients poll."""
    job = job_service.get(session, dagster, user, job_id)
    return job_service.read_models(session, [job])[0]


@router.get("/api/jobs", response_model=Page[JobRead], responses=error_responses(401))
def list_jobs(
    session: SessionDep,
    dagster: DagsterDep,
    user: CurrentUser,
    entity_type: JobEntityType | None = None,
    entity_id: uuid.UUID | None = None,
    status_filter: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Page[JobRead]:
    """The caller's jobs, newest first; unfinished ones are refreshed in one request to the sync engine."""
    jobs = job_service.list_jobs(
        session, dagster, user, entity_type=entity_type, entity_id=entity_id, status=status_filter, limit=limit
    )
    return Page[JobRead](items=job_service.read_models(session, jobs), next_cursor=None)


@router.post("/api/jobs/{job_id:uuid}/cancel", response_model=JobRead, responses=error_responses(401, 404, 409, 503))
def cancel_job(job_id: uuid.UUID, session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> JobRead:
    """Stop a pending or running sync. The job reads `canceled` once the sync engine has stopped the run."""
    job = job_service.cancel(session, dagster, user, job_id)
    return job_service.read_models(session, [job])[0]
