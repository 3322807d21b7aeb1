"""The FastAPI application: routers, the error handler and the lifespan that checks Enable Banking and disposes the
pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.gzip import GZipMiddleware

from src.accounts.endpoints import router as accounts_router
from src.api.access_log import AccessLogMiddleware
from src.api.body_limit import BodyLimitMiddleware
from src.api.docs import router as docs_router
from src.api.health import router as health_router
from src.api.meta import router as meta_router
from src.api.openapi import document_api
from src.api.redirects import use_relative_slash_redirects
from src.api.web import COMPRESS_MIN_BYTES
from src.api.web import router as web_router
from src.auth.endpoints import router as auth_router
from src.connections.endpoints import router as connections_router
from src.connections.endpoints import sync_router as connection_sync_router
from src.db import dispose_engine
from src.institutions.endpoints import router as institutions_router
from src.integrations.enablebanking import start_check_once
from src.jobs.endpoints import router as jobs_router
from src.kit.error_envelope import register_error_handlers
from src.logging_setup import configure_logging
from src.settings import settings
from src.transactions.endpoints import router as transactions_router
from src.webhooks.endpoints import router as webhooks_router


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids for generated clients: `<tag>_<function name>`."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}_{route.name}"


# Sync endpoints and dependencies run in worker threads, and a request can hold a pooled database connection
# across several of them (a dependency, then the endpoint, then response serialisation). With fewer threads than
# requests that hold or wait for connections, the request that must finish to release a lock waits for a thread
# forever. More threads than the pool has connections, with room for the requests waiting on the pool, keeps a
# thread free for it.
WORKER_THREADS = 200


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    # A refused key or an inactive application is one warning line at start, not a surprise at the first connect;
    # asked in the background, so the API answers at once even when Enable Banking does not.
    start_check_once()
    yield
    dispose_engine()


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title="finsync",
        version="0.1.0",
        description="Bank data kept in sync: connections, accounts, balances, transactions and sync jobs.",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
        # Swagger UI is served from finsync itself (src/api/docs.py); ReDoc is off.
        docs_url=None,
        redoc_url=None,
    )
    use_relative_slash_redirects(app.router)
    register_error_handlers(app)
    # JSON over 1 KiB goes gzip-compressed to clients that accept it (a page of transactions shrinks ~8x). Level 6:
    # most of level 9's saving at a fraction of its time, per answer. Streamed bodies are flushed chunk by chunk
    # (they still stream), server-sent events are left alone, and the page's files arrive already compressed
    # (src/api/web.py keeps their gzip form), which the middleware passes through.
    app.add_middleware(GZipMiddleware, minimum_size=COMPRESS_MIN_BYTES, compresslevel=6)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(institutions_router)
    app.include_router(connections_router)
    app.include_router(accounts_router)
    app.include_router(transactions_router)
    app.include_router(connection_sync_router)
    app.include_router(jobs_router)
    app.include_router(webhooks_router)
    app.include_router(meta_router)
    app.include_router(web_router)
    app.include_router(docs_router)
    document_api(app)
    return app


app = create_app()
