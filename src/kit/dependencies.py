"""Dependencies shared by every router: the request's database session (one unit of work per request), and the
clients of the outside world a request may use (GoCardless, Enable Banking, the Dagster webserver), each
replaceable in tests through `app.dependency_overrides`."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from src.db import DatabaseNotConfiguredError, get_engine, get_sessionmaker, unit_of_work
from src.exceptions import ServiceUnavailableError
from src.integrations.enablebanking import shared_enablebanking_client
from src.integrations.gocardless import shared_gocardless_client
from src.providers.dagster.client import DagsterClient, get_dagster_client
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.gocardless.client import GoCardlessClient


def _database_unavailable(exc: DatabaseNotConfiguredError) -> ServiceUnavailableError:
    return ServiceUnavailableError(str(exc), code="database_unavailable")


async def get_session() -> AsyncIterator[Session]:
    """The request's session: committed when the endpoint returns, rolled back when it raises.

    An async dependency on purpose: its commit runs on the event loop, not in the thread pool. Were it a thread
    job, a request holding a lock could wait for a free thread to commit while every thread waits for that lock
    (fifty concurrent "Sync now" clicks did exactly that). The commit itself takes milliseconds.
    """
    try:
        factory = get_sessionmaker()
    except DatabaseNotConfiguredError as exc:
        raise _database_unavailable(exc) from exc
    with unit_of_work(factory) as session:
        yield session


def get_db_engine() -> Engine:
    try:
        return get_engine()
    except DatabaseNotConfiguredError as exc:
        raise _database_unavailable(exc) from exc


# scope="function": the unit of work commits before the response is sent, so a client never sees a success
# whose commit failed, nor uses a token that is not yet stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
EngineDep = Annotated[Engine, Depends(get_db_engine)]


def get_gocardless() -> GoCardlessClient:
    return shared_gocardless_client()


def get_enablebanking() -> EnableBankingClient:
    return shared_enablebanking_client()


GoCardlessDep = Annotated[GoCardlessClient, Depends(get_gocardless)]
EnableBankingDep = Annotated[EnableBankingClient, Depends(get_enablebanking)]
DagsterDep = Annotated[DagsterClient, Depends(get_dagster_client)]
