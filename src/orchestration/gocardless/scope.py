"""Which connections a run touches, for every connection-scoped asset: the one named in the run config (which must
exist: otherwise the run fails with that sentence) or all of them."""

import uuid

import dagster as dg

from src.ingest import extraction
from src.orchestration.gocardless.config import ConnectionScopeConfig
from src.orchestration.resources import PostgresDatabase


def connections_in_scope(database: PostgresDatabase, config: ConnectionScopeConfig) -> list[uuid.UUID]:
    with database.sessions()() as session:
        try:
            return extraction.connection_ids_in_scope(session, config.connection_id)
        except (LookupError, ValueError) as exc:
            raise dg.Failure(description=str(exc)) from exc
