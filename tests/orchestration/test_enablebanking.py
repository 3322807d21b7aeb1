"""The Enable Banking assets and jobs as Dagster runs them: the connection job built by `src.sync_runs` syncs one
connection against the Enable Banking sandbox, its scope is checked like GoCardless's, a person's Sync now reaches the
bank as an attended read and a scheduled one does not, and each provider's jobs touch only their own connections."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from src.orchestration.enablebanking.definitions import enablebanking_background_sync
from src.orchestration.enablebanking.extraction import EXTRACTION_ASSETS
from src.orchestration.enablebanking.sync import SYNC_ASSETS
from src.orchestration.resources import EnableBankingResource, PostgresDatabase
from src.providers.enablebanking.client import EnableBankingClient
from src.settings import settings
from src.sync_runs import (
    ENABLEBANKING_CONNECTION_JOB,
    ENABLEBANKING_CONNECTION_JOB_OPS,
    PersonPresent,
    connection_run,
)
from tests.harness.enablebanking import (
    APPLICATION_ID,
    EnableBankingSandboxControl,
    EnableBankingSandboxServer,
    sandbox_enablebanking_client,
)
from tests.harness.enablebanking_ingest import connect_enablebanking
from tests.harness.ingest import rows

CONNECTION_KEYS = [asset.key for asset in [*EXTRACTION_ASSETS, *SYNC_ASSETS] if asset.key.path[-1] != "institutions"]


@pytest.fixture
def eb_client(
    enablebanking_sandbox_server: EnableBankingSandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EnableBankingClient]:
    """A client of the sandbox, and Settings pointing the Dagster resource at the same sandbox and key."""
    monkeypatch.setattr(settings, "enablebanking_application_id", APPLICATION_ID)
    monkeypatch.setattr(settings, "enablebanking_private_key_file", enablebanking_sandbox_server.keys.private_key_file)
    monkeypatch.setattr(settings, "enablebanking_base_url", enablebanking_sandbox_server.base_url)
    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        yield client


def run_connection_job(run_config: dict[str, Any] | None, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    database = PostgresDatabase()
    return dg.materialize(
        [*EXTRACTION_ASSETS, *SYNC_ASSETS],
        selection=CONNECTION_KEYS,
        resources={"postgres_database": database, "enablebanking_api": EnableBankingResource()},
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


class TestNames:
    def test_the_connection_job_ops_are_the_loaded_jobs_ops_and_take_the_builders_config(self) -> None:
        from src.orchestration.definitions import defs

        job = defs.resolve_job_def(ENABLEBANKING_CONNECTION_JOB)
        assert sorted(node.name for node in job.nodes) == sorted(ENABLEBANKING_CONNECTION_JOB_OPS)
        for person in (None, PersonPresent(ip_address="203.0.113.7", user_agent="Firefox")):
            run = connection_run("8d0f7a3e-0000-4000-8000-000000000001", "enablebanking", person)
            assert run.job == ENABLEBANKING_CONNECTION_JOB
            dg.validate_run_config(job, run.run_config)

    def test_a_gocardless_run_never_carries_the_person(self) -> None:
        run = connection_run("8d0f7a3e-0000-4000-8000-000000000001", "gocardless", PersonPresent(ip_address="x"))
        assert all(
            op["config"] == {"connection_id": "8d0f7a3e-0000-4000-8000-000000000001"}
            for op in run.run_config["ops"].values()
        )


class TestConnectionJob:
    def test_sync_now_syncs_the_connection_as_an_attended_read(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        enablebanking_sandbox.set_limits(account_daily=0)  # unattended reads are all refused today
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client, customer="carol")
        connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client, customer="bob")
        person = PersonPresent(ip_address="203.0.113.7", user_agent="Mozilla/5.0")

        result = run_connection_job(connection_run(str(connection_id), "enablebanking", person).run_config)

        assert result.success
        synced = rows(
            pipeline_database,
            "SELECT a.connection_id, count(t.id) FROM accounts a JOIN transactions t ON t.account_id = a.id "
            "GROUP BY a.connection_id",
        )
        assert [c for c, _ in synced] == [connection_id], "only the run's connection"
        assert rows(pipeline_database, "SELECT count(*) FROM accounts WHERE connection_id = :c", c=connection_id) == [
            (3,)
        ]
        outcomes = rows(pipeline_database, "SELECT DISTINCT outcome FROM sync_outcomes")
        assert outcomes == [("synced",)]

    def test_a_scheduled_run_sends_no_psu_headers_and_is_refused_past_the_limit(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        enablebanking_sandbox.set_limits(account_daily=0)
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client, customer="bob")

        result = run_connection_job(connection_run(str(connection_id), "enablebanking").run_config)

        assert result.success  # a refusal is an outcome, not a failed run
        assert rows(pipeline_database, "SELECT DISTINCT outcome FROM sync_outcomes") == [("rate_limited",)]

    def test_without_config_it_fails_before_calling_the_bank(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
        enablebanking_sandbox.reset_counters()
        from src.orchestration.definitions import defs

        job = defs.resolve_job_def(ENABLEBANKING_CONNECTION_JOB)
        result = job.execute_in_process(
            resources={"postgres_database": PostgresDatabase(), "enablebanking_api": EnableBankingResource()},
            raise_on_error=False,
        )
        assert not result.success
        assert enablebanking_sandbox.counters()["endpoints"] == {}
        assert rows(pipeline_database, "SELECT count(*) FROM transactions") == [(0,)]

    def test_a_gocardless_connection_is_refused_by_the_enable_banking_job(
        self,
        pipeline_database: Engine,
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
    ) -> None:
        connection_id = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
        with pipeline_database.begin() as db:  # pretend it is a GoCardless one
            db.execute(text("UPDATE connections SET provider = 'gocardless' WHERE id = :c"), {"c": connection_id})
        result = run_connection_job(
            connection_run(str(connection_id), "enablebanking").run_config, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
        assert "is a gocardless connection, not a enablebanking one" in str(failure.event_specific_data)


def test_the_background_sync_asks_for_each_due_enable_banking_connection_without_a_person(
    pipeline_database: Engine, enablebanking_sandbox: EnableBankingSandboxControl, eb_client: EnableBankingClient
) -> None:
    active = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client)
    gocardless_like = connect_enablebanking(pipeline_database, enablebanking_sandbox, eb_client, customer="bob")
    with pipeline_database.begin() as db:
        db.execute(text("UPDATE connections SET provider = 'gocardless' WHERE id = :c"), {"c": gocardless_like})
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(instance=instance, resources={"postgres_database": PostgresDatabase()}) as context,
    ):
        result = enablebanking_background_sync(context)  # type: ignore[call-arg]
    assert isinstance(result, dg.SensorResult)
    run = connection_run(str(active), "enablebanking", scheduled=True)
    requests = result.run_requests or []
    assert [(r.job_name, r.run_config) for r in requests] == [(run.job, run.run_config)]
    assert not any("psu_ip_address" in op["config"] for op in run.run_config["ops"].values())
