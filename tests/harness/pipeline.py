"""Helpers for tests that run the GoCardless assets in-process against a database of their own and the sandbox.

Assets commit per account, so they cannot run inside a test's rolled-back transaction: `pipeline_database`
(tests/conftest.py) points the process's engine at a fresh clone for the test. A connection to sync is stored with
`connect_sandbox` (tests/harness/ingest.py, where everything the tests of `src/ingest` share lives, free of Dagster).
"""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg

from src.orchestration.gocardless.config import extract_key, sync_key
from src.orchestration.gocardless.definitions import BALANCE_DRIFT_OP, CONNECTION_ASSET_KEYS
from src.orchestration.gocardless.extraction.assets import EXTRACTION_ASSETS
from src.orchestration.gocardless.sync.assets import SYNC_ASSETS, SYNC_CHECKS
from src.orchestration.resources import GoCardlessResource, PostgresDatabase
from tests.harness.sandbox import SandboxControl

SYNC_KEYS = [sync_key("connections"), sync_key("accounts"), sync_key("transactions"), sync_key("balances")]


def resources(sandbox: SandboxControl) -> dict[str, Any]:
    database = PostgresDatabase()
    return {
        "postgres_database": database,
        "gocardless_api": GoCardlessResource(database=database, base_url=sandbox.base_url),
    }


def run_assets(
    sandbox: SandboxControl,
    keys: Sequence[dg.AssetKey] = CONNECTION_ASSET_KEYS,
    *,
    connection_id: uuid.UUID | str | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize `keys` (and the drift check) in this process, scoped to `connection_id` when given."""
    ops: Iterable[str] = ["__".join(key.path) for key in keys]
    if sync_key("balances") in keys:
        ops = [*ops, BALANCE_DRIFT_OP]
    run_config = (
        {"ops": {op: {"config": {"connection_id": str(connection_id)}} for op in ops}} if connection_id else None
    )
    return dg.materialize(
        [*EXTRACTION_ASSETS, *SYNC_ASSETS, *SYNC_CHECKS],
        selection=list(keys),
        resources=resources(sandbox),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


__all__ = ["SYNC_KEYS", "extract_key", "resources", "run_assets", "sync_key"]
