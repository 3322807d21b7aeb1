"""The jobs domain's errors; the API's one handler renders them in the error envelope."""

from src.exceptions import AppError, ConflictError, NotFoundError, ServiceUnavailableError


class JobNotFoundError(NotFoundError):
    code = "job_not_found"


class ConnectionNotSyncableError(ConflictError):
    code = "connection_not_active"


class JobFinishedError(ConflictError):
    code = "job_finished"


class RateLimitedError(AppError):
    """Every account of the connection has used up its transactions calls: no run is launched."""

    status_code = 429
    code = "rate_limited"


class SyncEngineUnavailableError(ServiceUnavailableError):
    code = "sync_engine_unavailable"
