"""The jobs domain's part in the connect flow: a linked connection's first sync starts at once."""

import uuid

from sqlalchemy.orm import Session

from src.connections.hooks import register_after_link
from src.exceptions import AppError
from src.jobs.service import job as job_service
from src.providers.dagster.client import get_dagster_client


def start_first_sync(session: Session, user_id: uuid.UUID, connection_id: uuid.UUID) -> str | None:
    try:
        job, _ = job_service.start_sync(session, get_dagster_client(), user_id, connection_id)
    except AppError:
        return None  # e.g. rate limited: the connection is linked all the same
    return str(job.id)


def install() -> None:
    register_after_link(start_first_sync)
