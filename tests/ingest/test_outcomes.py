"""What a run did for each account (`src/ingest/outcomes.py`): an account not fetched because its connection's
consent is over reads `reauth_required` with the reason, and "last synced" moves only when an account synced.

Each test extracts and derives a sandbox connection the way the assets do, without Dagster (`ingest`,
tests/harness/ingest.py), on a database of its own; a sync's id stands for the run's.
"""

from sqlalchemy import Engine

from tests.harness.ingest import Ingest, connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


def _last_synced(engine: Engine, connection_id: object) -> object:
    ((synced_at,),) = rows(engine, "SELECT last_synced_at FROM connections WHERE id = :c", c=connection_id)
    return synced_at


class TestConsentOver:
    def test_an_expired_agreement_syncs_no_account_and_last_synced_stays(
        self, pipeline_database: Engine, sandbox: SandboxControl, ingest: Ingest
    ) -> None:
        """No bank call was made for any account: no account reads synced, and "last synced" does not move. (That
        the connection reads expired is the connections rule, tests/ingest/test_connections.py.)"""
        connection_id = connect_sandbox(pipeline_database, sandbox)
        ingest.sync(connection_id)
        synced_at = _last_synced(pipeline_database, connection_id)
        assert synced_at is not None
        sandbox.advance_clock(days=91)  # past the agreement's 90 days of access: the requisition expires
        sandbox.reset_counters()
        run_id = ingest.sync(connection_id)
        assert not any(scopes for scopes in sandbox.counters()["accounts"].values() if scopes)
        assert _last_synced(pipeline_database, connection_id) == synced_at
        outcomes = rows(
            pipeline_database, "SELECT outcome, message FROM sync_outcomes WHERE dagster_run_id = :r", r=run_id
        )
        assert outcomes
        assert {outcome for outcome, _ in outcomes} == {"reauth_required"}
        assert all(message and "re-authorise" in str(message) for _, message in outcomes)
