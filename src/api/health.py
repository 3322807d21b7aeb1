"""`GET /health`: 200 when the database answers through the app's pool, 503 in the error envelope otherwise."""

import logging

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from src.exceptions import ServiceUnavailableError
from src.kit.dependencies import EngineDep
from src.kit.responses import error_response_doc

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get(
    "/health",
    response_model=Health,
    operation_id="health_check",
    responses={503: {**error_response_doc(503), "description": "The database cannot be reached."}},
)
def health(engine: EngineDep) -> Health:
    """Liveness and readiness: one `SELECT 1` through the application's connection pool."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        raise ServiceUnavailableError(
            "The database cannot be reached.", code="database_unavailable", headers={"Retry-After": "5"}
        ) from exc
    return Health(status="ok", database="ok")
