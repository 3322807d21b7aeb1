"""The FastAPI application: routers, the error handler and the lifespan that disposes the pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from src.api.access_log import AccessLogMiddleware
from src.api.errors import register_error_handlers
from src.api.health import router as health_router
from src.auth.endpoints import router as auth_router
from src.connections.endpoints import router as connections_router
from src.institutions.endpoints import router as institutions_router
from src.db import dispose_engine
from src.logging_setup import configure_logging


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids for generated clients: `<tag>_<function name>`."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}_{route.name}"


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
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
    )
    register_error_handlers(app)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(institutions_router)
    app.include_router(connections_router)
    return app


app = create_app()
