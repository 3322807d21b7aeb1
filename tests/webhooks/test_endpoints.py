"""`/api/webhooks`: create (the secret shown once), list, read, delete, test and the delivery log; another user's
webhook is 404; a URL finsync will not deliver to is 422 `webhook_url_refused` with the reason."""

import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from src.logging_setup import KeyValueFormatter
from src.models import NotificationOutbox, WebhookDelivery, WebhookEndpoint
from src.notifications import deliver_due, verify_signature
from src.settings import Environment, settings
from src.webhooks.service import MAX_WEBHOOKS_PER_USER
from tests.factories import auth_headers, create_user
from tests.harness.webhooks import Receiver

PUBLIC_URL = "https://93.184.216.34/finsync"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.stop()


def _create(api_client: TestClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return api_client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/hook", **body}, headers=headers)


def _deliver(db_session: Session, now: datetime) -> None:
    """The deliverer, on the test's connection (its units of work become savepoints of the test's transaction)."""
    db_session.commit()
    factory = sessionmaker(bind=db_session.connection(), join_transaction_mode="create_savepoint")
    deliver_due(factory, now=now, mailer=None)


class TestCreate:
    def test_answers_the_secret_once_and_stores_it_sealed(
        self, api_client: TestClient, headers: dict[str, str], db_session: Session
    ) -> None:
        response = _create(api_client, headers, description="Home automation", events=["sync.failed"])
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["secret"].startswith("whsec_")
        assert created["url"] == "http://127.0.0.1:9/hook"
        assert (created["description"], created["events"], created["disabled_at"]) == (
            "Home automation",
            ["sync.failed"],
            None,
        )

        one = api_client.get(f"/api/webhooks/{created['id']}", headers=headers)
        listed = api_client.get("/api/webhooks", headers=headers).json()
        assert one.status_code == 200
        assert "secret" not in one.json()
        assert [item["id"] for item in listed["items"]] == [created["id"]]
        assert "secret" not in listed["items"][0]
        assert listed["next_cursor"] is None
        stored = db_session.scalars(select(WebhookEndpoint.secret)).one()
        assert stored.startswith("fernet:")
        assert created["secret"] not in stored

    def test_without_events_every_event_is_sent(self, api_client: TestClient, headers: dict[str, str]) -> None:
        assert _create(api_client, headers).json()["events"] is None

    @pytest.mark.parametrize("events", [["webhook.test"], ["sync.done"], []])
    def test_unknown_or_unsubscribable_events_are_a_validation_error(
        self, api_client: TestClient, headers: dict[str, str], events: list[str]
    ) -> None:
        response = _create(api_client, headers, events=events)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_at_most_ten_per_user(self, api_client: TestClient, headers: dict[str, str]) -> None:
        for _ in range(MAX_WEBHOOKS_PER_USER):
            assert _create(api_client, headers).status_code == 201
        response = _create(api_client, headers)
        assert response.status_code == 409
        assert response.json()["code"] == "too_many_webhooks"


class TestUrls:
    def test_loopback_is_allowed_in_development(self, api_client: TestClient, headers: dict[str, str]) -> None:
        assert _create(api_client, headers, url="http://localhost:9000/hook").status_code == 201

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("https://10.1.2.3/hook", "private or local address"),
            ("https://localhost/hook", "private or local address"),
            ("http://93.184.216.34/hook", "must start with https://"),
        ],
    )
    def test_in_production_a_private_address_or_plain_http_is_refused_with_the_reason(
        self,
        api_client: TestClient,
        headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        url: str,
        reason: str,
    ) -> None:
        monkeypatch.setattr(settings, "finsync_env", Environment.production)
        response = _create(api_client, headers, url=url)
        assert response.status_code == 422
        assert response.json()["code"] == "webhook_url_refused"
        assert reason in response.json()["detail"]

    def test_in_production_https_to_a_public_address_is_accepted(
        self, api_client: TestClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(settings, "finsync_env", Environment.production)
        assert _create(api_client, headers, url=PUBLIC_URL).status_code == 201

    def test_a_url_that_is_not_one_is_refused(self, api_client: TestClient, headers: dict[str, str]) -> None:
        response = _create(api_client, headers, url="not a url")
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        response = _create(api_client, headers, url="http://user:password@127.0.0.1/hook")
        assert response.status_code == 422
        assert response.json() == {
            "code": "webhook_url_refused",
            "detail": "The URL must not carry a user name or password.",
        }


class TestOwnership:
    def test_another_users_webhook_is_not_found_everywhere(
        self, api_client: TestClient, headers: dict[str, str], db_session: Session
    ) -> None:
        theirs = _create(api_client, auth_headers(create_user(db_session))).json()["id"]
        for method, path in [
            ("GET", f"/api/webhooks/{theirs}"),
            ("DELETE", f"/api/webhooks/{theirs}"),
            ("POST", f"/api/webhooks/{theirs}/test"),
            ("GET", f"/api/webhooks/{theirs}/deliveries"),
            ("GET", f"/api/webhooks/{uuid.uuid4()}"),
        ]:
            response = api_client.request(method, path, headers=headers)
            assert response.status_code == 404, (method, path)
            assert response.json() == {"code": "webhook_not_found", "detail": "There is no such webhook."}
        assert api_client.get("/api/webhooks", headers=headers).json()["items"] == []
        assert db_session.get(WebhookEndpoint, uuid.UUID(theirs)) is not None, "still theirs"

    def test_delete_removes_it(self, api_client: TestClient, headers: dict[str, str]) -> None:
        webhook_id = _create(api_client, headers).json()["id"]
        assert api_client.delete(f"/api/webhooks/{webhook_id}", headers=headers).status_code == 204
        assert api_client.get(f"/api/webhooks/{webhook_id}", headers=headers).status_code == 404


class TestTestEventAndLog:
    def test_a_test_event_reaches_that_endpoint_only_signed_and_appears_in_the_log(
        self, api_client: TestClient, headers: dict[str, str], db_session: Session, receiver: Receiver
    ) -> None:
        created = _create(api_client, headers, url=receiver.url("/tested")).json()
        _create(api_client, headers, url=receiver.url("/other"))
        response = api_client.post(f"/api/webhooks/{created['id']}/test", headers=headers)
        assert response.status_code == 202
        event_id = response.json()["event_id"]
        rows = db_session.scalars(select(NotificationOutbox)).all()
        assert [(str(row.endpoint_id), row.event_type.value) for row in rows] == [(created["id"], "webhook.test")]

        now = datetime.now(UTC)
        _deliver(db_session, now)

        (got,) = receiver.received
        assert got.path == "/tested"
        assert got.event_id == event_id
        assert got.json["type"] == "webhook.test"
        assert got.json["data"]["endpoint_id"] == created["id"]
        assert verify_signature(created["secret"], got.headers["finsync-signature"], got.body)
        log = api_client.get(f"/api/webhooks/{created['id']}/deliveries", headers=headers).json()
        (entry,) = log["items"]
        assert (entry["event_id"], entry["event_type"], entry["status_code"], entry["error"]) == (
            event_id,
            "webhook.test",
            204,
            None,
        )
        assert entry["duration_ms"] >= 0

    def test_the_log_is_newest_first_in_pages(
        self, api_client: TestClient, headers: dict[str, str], db_session: Session, receiver: Receiver
    ) -> None:
        webhook_id = _create(api_client, headers, url=receiver.url()).json()["id"]
        receiver.down = True
        api_client.post(f"/api/webhooks/{webhook_id}/test", headers=headers)
        start = datetime.now(UTC)
        _deliver(db_session, start)
        receiver.down = False
        _deliver(db_session, start + timedelta(seconds=10))

        first = api_client.get(f"/api/webhooks/{webhook_id}/deliveries?limit=1", headers=headers).json()
        assert [item["status_code"] for item in first["items"]] == [204]
        assert first["next_cursor"] is not None
        second = api_client.get(
            f"/api/webhooks/{webhook_id}/deliveries",
            params={"limit": 1, "cursor": first["next_cursor"]},
            headers=headers,
        ).json()
        assert [(item["status_code"], item["error"]) for item in second["items"]] == [
            (503, "the endpoint answered 503")
        ]
        assert second["next_cursor"] is None
        assert db_session.scalar(select(WebhookDelivery.id).limit(1)) is not None

    def test_a_cursor_finsync_did_not_issue_is_refused(self, api_client: TestClient, headers: dict[str, str]) -> None:
        webhook_id = _create(api_client, headers).json()["id"]
        response = api_client.get(f"/api/webhooks/{webhook_id}/deliveries?cursor=nonsense", headers=headers)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_cursor"


class TestSecretNeverLogged:
    def test_the_signing_secret_is_in_no_log_line_from_creation_to_delivery(
        self, api_client: TestClient, headers: dict[str, str], db_session: Session, receiver: Receiver
    ) -> None:
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        handler.setFormatter(KeyValueFormatter())
        handler.setLevel(logging.DEBUG)
        tree = logging.getLogger("src")
        tree.addHandler(handler)
        level = tree.level
        tree.setLevel(logging.DEBUG)
        try:
            created = _create(api_client, headers, url=receiver.url("/logged")).json()
            assert api_client.post(f"/api/webhooks/{created['id']}/test", headers=headers).status_code == 202
            _deliver(db_session, datetime.now(UTC))
            assert len(receiver.received) == 1
        finally:
            tree.removeHandler(handler)
            tree.setLevel(level)
        logged = buffer.getvalue()
        # The search has something to search: creation, the test event and its delivery were all logged.
        for record in ("webhook created", "notification delivered"):
            assert record in logged, logged
        secret = created["secret"]
        assert secret not in logged
        assert secret.removeprefix("whsec_") not in logged
