"""Connections derived from their requisition, its agreement and its accounts' access (`src/ingest/connections.py`).

Each test extracts and derives a sandbox connection the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own; the sandbox's clock moves the bank's side on.
"""

from sqlalchemy import Engine

from tests.harness.ingest import Ingest, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


class TestStatus:
    def test_an_expired_agreement_expires_the_connection(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        connection_id = connect_sandbox(pipeline_database, sandbox)
        ingest.sync(connection_id)
        sandbox.advance_clock(days=91)  # past the agreement's 90 days of access: the requisition expires
        ingest.sync(connection_id)
        assert rows(pipeline_database, "SELECT status FROM connections WHERE id = :c", c=connection_id) == [
            ("expired",)
        ]
