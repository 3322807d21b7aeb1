"""The API process's GoCardless client (one pooled client per process) and the translation of GoCardless
failures into answers a frontend can show: 502 when GoCardless refused, 503 with Retry-After when it (or the bank)
is unavailable or rate-limits us. Raw httpx or provider errors never reach the error handler."""

from datetime import UTC, datetime
from functools import cache
from typing import Annotated

from fastapi import Depends

from src.db import get_engine
from src.errors import AppError
from src.ingest.client import build_gocardless_client
from src.providers.gocardless import errors as gc
from src.providers.gocardless.client import GoCardlessClient
from src.settings import settings


class GoCardlessUnavailableError(AppError):
    status_code = 503
    code = "gocardless_unavailable"


class GoCardlessRefusedError(AppError):
    status_code = 502
    code = "gocardless_error"


@cache
def get_gocardless() -> GoCardlessClient:
    return build_gocardless_client(settings, get_engine())


GoCardlessDep = Annotated[GoCardlessClient, Depends(get_gocardless)]


def upstream_error(exc: gc.GoCardlessError) -> AppError:
    """The answer for a GoCardless failure during a synchronous call (the connect flow)."""
    if isinstance(exc, gc.RateLimitedError):
        retry = 60
        if exc.reset_at is not None:
            retry = max(1, int((exc.reset_at - datetime.now(UTC)).total_seconds()))
        return GoCardlessUnavailableError(
            "GoCardless is rate-limiting us; please try again later.", headers={"Retry-After": str(retry)}
        )
    if isinstance(exc, gc.ConnectionFailedError | gc.ServiceUnavailableError):
        return GoCardlessUnavailableError(
            "GoCardless or the bank is not answering right now; please try again in a minute.",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, gc.AuthenticationFailedError | gc.InvalidTokenError):
        return GoCardlessUnavailableError("finsync cannot sign in to GoCardless; the operator must check its keys.")
    detail = exc.detail or exc.summary or "GoCardless refused the request."
    return GoCardlessRefusedError(f"GoCardless refused the request: {detail}")
