"""The consent sensor as Dagster evaluates it: built with its resources (real PostgreSQL, both sandboxes over HTTP)
and finsync's clock moved, no live Dagster. Ten days before an expiry one `consent.expiring` per webhook endpoint
and one e-mail however many ticks; on expiry one `consent.expired`; an abandoned connect deleted at GoCardless."""

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from src import clock
from src.connections.service import connection as connection_service
from src.db import unit_of_work
from src.ingest.connections import derive_connections
from src.models import Connection, User, WebhookEndpoint
from src.orchestration.consents import CONSENT_SENSORS, MINIMUM_INTERVAL_SECONDS, consent_lifecycle
from src.orchestration.resources import RESOURCES, EnableBankingResource, GoCardlessResource, PostgresDatabase
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.errors import ResourceNotFoundError
from src.settings import settings
from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxServer, sandbox_enablebanking_client
from tests.harness.ingest import connect_sandbox, rows
from tests.harness.sandbox import SandboxControl


@pytest.fixture
def eb_settings(
    enablebanking_sandbox_server: EnableBankingSandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EnableBankingClient]:
    """Settings pointing the Enable Banking resource at the test run's sandbox and key."""
    monkeypatch.setattr(settings, "enablebanking_application_id", APPLICATION_ID)
    monkeypatch.setattr(settings, "enablebanking_private_key_file", enablebanking_sandbox_server.keys.private_key_file)
    monkeypatch.setattr(settings, "enablebanking_base_url", enablebanking_sandbox_server.base_url)
    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        yield client


def tick(sandbox: SandboxControl) -> str:
    """One evaluation of the sensor with the code location's resources (GoCardless pointed at the sandbox)."""
    database = PostgresDatabase()
    resources = {
        "postgres_database": database,
        "gocardless_api": GoCardlessResource(database=database, base_url=sandbox.base_url),
        "enablebanking_api": EnableBankingResource(),
    }
    with dg.build_sensor_context(resources=resources) as context:
        result = consent_lifecycle(context)  # type: ignore[call-arg]
    assert isinstance(result, dg.SkipReason)  # it launches no runs
    return str(result.skip_message)


def outbox(engine: Engine, user_id: uuid.UUID) -> list[tuple[str, str]]:
    return [
        (str(t), str(c))
        for t, c in rows(
            engine,
            "SELECT event_type, channel FROM notification_outbox WHERE user_id = :u ORDER BY event_type, channel",
            u=user_id,
        )
    ]


class TestDefinition:
    def test_on_by_default_every_ten_minutes_with_the_code_locations_resources(self) -> None:
        assert [consent_lifecycle] == CONSENT_SENSORS
        assert consent_lifecycle.default_status is dg.DefaultSensorStatus.RUNNING
        assert consent_lifecycle.minimum_interval_seconds == MINIMUM_INTERVAL_SECONDS == 600
        assert consent_lifecycle.required_resource_keys <= set(RESOURCES)
        defs = dg.Definitions(sensors=CONSENT_SENSORS, resources=RESOURCES)
        assert defs.resolve_sensor_def("consent_lifecycle") is consent_lifecycle


class TestTicks:
    def test_ten_days_before_expiry_one_expiring_then_on_expiry_one_expired_and_abandoned_connects_deleted(
        self,
        pipeline_database: Engine,
        sandbox: SandboxControl,
        gocardless: GoCardlessClient,
        eb_settings: EnableBankingClient,
    ) -> None:
        factory = sessionmaker(bind=pipeline_database, expire_on_commit=False)
        connection_id = connect_sandbox(pipeline_database, sandbox)
        with unit_of_work(factory) as session:
            derive_connections(session, [connection_id])
            connection = session.get_one(Connection, connection_id)
            user_id, expires_at = connection.user_id, connection.expires_at
            session.add_all(
                WebhookEndpoint(user_id=user_id, url=f"https://hooks.example.com/{n}", secret="sealed")
                for n in range(2)
            )
            user = session.get_one(User, user_id)
            abandoned, _ = connection_service.create(
                session,
                gocardless,
                user,
                institution_id=connection.institution_id,
                friendly_name=None,
                allow_duplicate=True,
            )
            abandoned_requisition = abandoned.connection.requisition_id
        assert isinstance(expires_at, datetime)
        assert abandoned_requisition is not None

        with clock.moved_by(expires_at - timedelta(days=10) - datetime.now(expires_at.tzinfo)):
            first = tick(sandbox)
            second = tick(sandbox)
        assert first.startswith("announced 1, requisitions deleted 1")  # the abandoned connect: 80 days old now
        assert second.startswith("announced 0, requisitions deleted 0")
        assert outbox(pipeline_database, user_id) == [
            ("consent.expiring", "email"),
            ("consent.expiring", "webhook"),
            ("consent.expiring", "webhook"),
        ]
        with pytest.raises(ResourceNotFoundError):
            gocardless.get_requisition(abandoned_requisition)
        assert rows(pipeline_database, "SELECT status FROM connections WHERE id = :c", c=abandoned.connection.id) == [
            ("rejected",)
        ]

        with clock.moved_by(expires_at + timedelta(minutes=1) - datetime.now(expires_at.tzinfo)):
            assert tick(sandbox).startswith("announced 1,")
            assert tick(sandbox).startswith("announced 0,")
        assert outbox(pipeline_database, user_id) == [
            ("consent.expired", "email"),
            ("consent.expired", "webhook"),
            ("consent.expired", "webhook"),
            ("consent.expiring", "email"),
            ("consent.expiring", "webhook"),
            ("consent.expiring", "webhook"),
        ]
        with factory() as session:  # announced by the clock, before any sync stored the expiry
            assert session.scalar(select(Connection.status).where(Connection.id == connection_id)) == "active"
