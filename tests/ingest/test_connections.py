"""Connections derived from their requisition, its agreement and its accounts' access (`src/ingest/connections.py`).

Each test extracts and derives a sandbox connection the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own; the sandbox's clock moves the bank's side on.
"""

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from src.ingest.connections import derive_connections
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

    def test_a_requisition_gone_before_consent_is_a_rejected_connect_and_one_gone_after_it_expired(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        abandoned = connect_sandbox(pipeline_database, sandbox)
        linked = connect_sandbox(pipeline_database, sandbox, customer="chloe")
        with pipeline_database.begin() as db:
            # The consent clean-up deleted the first at GoCardless while it still waited for the person's consent.
            db.execute(
                text("UPDATE gc_requisitions SET status = 'CR', gone_at = now() WHERE connection_id = :c"),
                {"c": abandoned},
            )
            db.execute(text("UPDATE gc_requisitions SET gone_at = now() WHERE connection_id = :c"), {"c": linked})
            db.execute(
                text("UPDATE connections SET status = 'pending' WHERE id = :c"),
                {"c": abandoned},
            )
        with Session(pipeline_database) as session:
            derive_connections(session, [abandoned, linked])
            session.commit()
        statuses = dict(rows(pipeline_database, "SELECT id, status FROM connections"))
        assert (statuses[abandoned], statuses[linked]) == ("rejected", "expired")
