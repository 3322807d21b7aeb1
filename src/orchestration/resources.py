"""Every Dagster resource finsync has: the PostgreSQL database, the GoCardless client and the Enable Banking client.

They take their configuration from Settings (no EnvVar: an unset variable must fall back to the embedded
database's URL that the entry points export, or to a sandbox when no provider credentials are set).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from src.db import get_engine, get_sessionmaker, unit_of_work
from src.integrations.enablebanking import build_enablebanking_client
from src.integrations.gocardless import build_gocardless_client
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.gocardless.client import GoCardlessClient
from src.settings import settings


class PostgresDatabase(dg.ConfigurableResource):  # type: ignore[type-arg]
    """finsync's PostgreSQL (DATABASE_URL). Assets open one unit of work per account through it."""

    def engine(self) -> Engine:
        return get_engine()

    def sessions(self) -> sessionmaker[Session]:
        return get_sessionmaker()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(self.sessions()) as session:
            yield session


class GoCardlessResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The GoCardless Bank Account Data client; its token pair is shared through the database."""

    database: dg.ResourceDependency[PostgresDatabase]
    # Overrides for tests; unset means Settings (GOCARDLESS_BASE_URL, or the sandbox without credentials).
    base_url: Optional[str] = None

    _client: Optional[GoCardlessClient] = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        config = (
            settings if self.base_url is None else settings.model_copy(update={"gocardless_base_url": self.base_url})
        )
        self._client = build_gocardless_client(
            config, self.database.engine(), max_connections=max(settings.extract_concurrency * 2, 4)
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> GoCardlessClient:
        if self._client is None:
            raise RuntimeError("the GoCardless resource is used outside of a run")
        return self._client


class EnableBankingResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Enable Banking client; each run signs its own short-lived JWTs with the application's private key."""

    # Overrides for tests; unset means Settings (ENABLEBANKING_BASE_URL, or the sandbox without credentials).
    base_url: Optional[str] = None

    _client: Optional[EnableBankingClient] = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        config = (
            settings
            if self.base_url is None
            else settings.model_copy(update={"enablebanking_base_url": self.base_url.rstrip("/")})
        )
        self._client = build_enablebanking_client(config, max_connections=max(settings.extract_concurrency * 2, 4))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> EnableBankingClient:
        if self._client is None:
            raise RuntimeError("the Enable Banking resource is used outside of a run")
        return self._client


postgres_database = PostgresDatabase()
gocardless_api = GoCardlessResource(database=postgres_database)
enablebanking_api = EnableBankingResource()

RESOURCES = {
    "postgres_database": postgres_database,
    "gocardless_api": gocardless_api,
    "enablebanking_api": enablebanking_api,
}
