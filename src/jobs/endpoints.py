"""Sync jobs: a job's status (polled by the frontend), the list, cancel. Starting a sync ("Sync now", "Sync all")
begins at a connection: those endpoints live with the connections (src/connections/endpoints.py), tagged `jobs`."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from src.auth.dependencies import CurrentUser
from src.jobs.schemas import JobRead
from src.jobs.service import job as job_service
from src.kit.dependencies import DagsterDep, SessionDep
from src.kit.pagination import MAX_LIMIT
from src.kit.responses import error_responses
from src.kit.schemas import Page
from src.models.enums import JobEntityType, JobStatus

router = APIRouter(tags=["jobs"])


@router.get("/api/jobs/{job_id:uuid}", response_model=JobRead, responses=error_responses(401, 404))
def get_job(job_id: uuid.UUID, session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> JobRead:
    """A job's status, progress, failure message and per-account outcomes. Poll it every second or two: the
    sync engine is asked at most once a second per job, however many clients poll."""
    job = job_service.get(session, dagster, user, job_id)
    return JobRead.from_view(job_service.view(session, job))


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
    return Page[JobRead](items=[JobRead.from_view(v) for v in job_service.views(session, jobs)], next_cursor=None)


@router.post("/api/jobs/{job_id:uuid}/cancel", response_model=JobRead, responses=error_responses(401, 404, 409, 503))
def cancel_job(job_id: uuid.UUID, session: SessionDep, dagster: DagsterDep, user: CurrentUser) -> JobRead:
    """Stop a pending or running sync. The job reads `canceled` once the sync engine has stopped the run."""
    job = job_service.cancel(session, dagster, user, job_id)
    return JobRead.from_view(job_service.view(session, job))
