"""Connecting through Enable Banking, in-process, against the Enable Banking sandbox over HTTP: the banks of both
providers listed together, connect → the bank's consent page → the callback (or the pasted address), single-use
state, refusal, re-authorisation that keeps the accounts, and deletion that ends the session at Enable Banking."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from src.ingest.enablebanking.connections import derive_connections
from src.models import Account, EbAuthorization, EbSession
from src.providers.enablebanking import errors as eb
from src.providers.enablebanking.client import EnableBankingClient
from tests.factories import auth_headers, create_user_with_password
from tests.harness.enablebanking import (
    EnableBankingSandboxControl,
    EnableBankingSandboxServer,
    sandbox_enablebanking_client,
)

MOCK_BANK_NAME = "Mock ASPSP"


@pytest.fixture
def eb_client(enablebanking_sandbox_server: EnableBankingSandboxServer) -> Iterator[EnableBankingClient]:
    with sandbox_enablebanking_client(enablebanking_sandbox_server) as client:
        yield client


@pytest.fixture
def eb_api(
    api: TestClient, enablebanking_sandbox: EnableBankingSandboxControl, eb_client: EnableBankingClient
) -> TestClient:
    """The API with GoCardless and Enable Banking both on their sandboxes."""
    from src.kit.dependencies import get_enablebanking

    api.app.dependency_overrides[get_enablebanking] = lambda: eb_client  # type: ignore[attr-defined]
    return api


def mock_bank_id(api: TestClient, headers: dict[str, str]) -> str:
    items = api.get("/api/institutions", params={"country": "FI"}, headers=headers).json()["items"]
    return next(item["id"] for item in items if item["name"] == MOCK_BANK_NAME)


def connect(api: TestClient, headers: dict[str, str]) -> dict[str, object]:
    response = api.post("/api/connections", json={"institution_id": mock_bank_id(api, headers)}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def authorization_of(db_session: Session, connection_id: object) -> str:
    found = db_session.scalar(
        select(EbAuthorization.id)
        .where(EbAuthorization.connection_id == connection_id, EbAuthorization.callback_completed_at.is_(None))
        .order_by(EbAuthorization.first_seen_at.desc())
    )
    assert found is not None
    return found


def follow(api: TestClient, redirect: str) -> dict[str, list[str]]:
    """Where the bank sends the browser back to, then where finsync sends it: the frontend's query."""
    parts = urlsplit(redirect)
    response = api.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)


class TestInstitutions:
    def test_both_providers_banks_are_listed_together_each_saying_its_provider(
        self, eb_api: TestClient, headers: dict[str, str]
    ) -> None:
        items = eb_api.get("/api/institutions", params={"country": "gb"}, headers=headers).json()["items"]
        # Thistle Bank is reached through both providers: two banks, two ids, each saying its provider.
        thistle = sorted((item["provider"], item["id"]) for item in items if item["name"] == "Thistle Bank")
        assert [provider for provider, _ in thistle] == ["enablebanking", "gocardless"]
        assert thistle[0][1].startswith("ENABLEBANKING-GB-")
        assert "SANDBOXFINANCE_SFIN0000" in [item["id"] for item in items]
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids))

    def test_a_country_only_one_provider_serves_lists_that_providers_banks(
        self, eb_api: TestClient, headers: dict[str, str]
    ) -> None:
        """The GoCardless sandbox does not serve Finland; Enable Banking's does."""
        response = eb_api.get("/api/institutions", params={"country": "FI"}, headers=headers)
        assert response.status_code == 200
        assert {item["provider"] for item in response.json()["items"]} == {"enablebanking"}

    def test_enable_banking_down_still_lists_gocardless_banks(self, api: TestClient, headers: dict[str, str]) -> None:
        """`api` keeps the Enable Banking client that reaches nothing."""
        items = api.get("/api/institutions", params={"country": "GB"}, headers=headers).json()["items"]
        assert {item["provider"] for item in items} == {"gocardless"}


class TestConnect:
    def test_connect_consent_callback_links_the_connection_and_starts_its_first_sync(
        self,
        eb_api: TestClient,
        headers: dict[str, str],
        enablebanking_sandbox: EnableBankingSandboxControl,
        db_session: Session,
    ) -> None:
        body = connect(eb_api, headers)
        connection = body["connection"]
        assert isinstance(connection, dict)
        assert connection["provider"] == "enablebanking"
        assert connection["status"] == "pending"
        assert str(body["link"]).startswith(enablebanking_sandbox.base_url)
        assert body["paste_redirect"] is True  # finsync's address in the tests is http

        redirect = enablebanking_sandbox.approve(authorization_of(db_session, connection["id"]), customer="carol")
        query = follow(eb_api, redirect)
        assert query["status"] == ["active"]
        assert query["connection_id"] == [connection["id"]]
        assert "job_id" in query  # the first sync was asked for (Dagster is absent here: it waits, pending)

        read = eb_api.get(f"/api/connections/{connection['id']}", headers=headers).json()
        assert read["status"] == "active"
        assert read["account_count"] == 3
        assert read["expires_at"] is not None
        accounts = db_session.scalars(select(Account).where(Account.connection_id == connection["id"])).all()
        assert {a.provider for a in accounts} == {"enablebanking"}

        again = follow(eb_api, redirect)  # the state is single use
        assert again["status"] == ["error"]
        assert again["error"] == ["already_used"]

    def test_a_refusal_at_the_bank_makes_the_new_connection_rejected(
        self,
        eb_api: TestClient,
        headers: dict[str, str],
        enablebanking_sandbox: EnableBankingSandboxControl,
        db_session: Session,
    ) -> None:
        connection = connect(eb_api, headers)["connection"]
        assert isinstance(connection, dict)
        query = follow(eb_api, enablebanking_sandbox.deny(authorization_of(db_session, connection["id"])))
        assert query["status"] == ["rejected"]
        assert eb_api.get(f"/api/connections/{connection['id']}", headers=headers).json()["status"] == "rejected"

    def test_an_unknown_state_is_an_error_not_a_500(self, eb_api: TestClient) -> None:
        response = eb_api.get(
            "/api/connections/callback/enablebanking", params={"state": "nope", "code": "x"}, follow_redirects=False
        )
        assert response.status_code == 303
        assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["unknown_reference"]

    def test_each_connection_counts_its_own_accounts_only(
        self,
        eb_api: TestClient,
        headers: dict[str, str],
        enablebanking_sandbox: EnableBankingSandboxControl,
        db_session: Session,
    ) -> None:
        """Two users, one Enable Banking connection each (carol shares three accounts, bob one): each card counts
        its own, never another connection's or another user's."""
        other = auth_headers(create_user_with_password(db_session, email="other@example.com"))
        for who, customer in ((headers, "carol"), (other, "bob")):
            connection = connect(eb_api, who)["connection"]
            assert isinstance(connection, dict)
            follow(
                eb_api, enablebanking_sandbox.approve(authorization_of(db_session, connection["id"]), customer=customer)
            )
        mine = eb_api.get("/api/connections", headers=headers).json()["items"]
        theirs = eb_api.get("/api/connections", headers=other).json()["items"]
        assert [c["account_count"] for c in mine] == [3]
        assert [c["account_count"] for c in theirs] == [1]


class TestPastedRedirect:
    def test_the_owner_pastes_the_address_and_the_connection_links(
        self,
        eb_api: TestClient,
        headers: dict[str, str],
        enablebanking_sandbox: EnableBankingSandboxControl,
        db_session: Session,
    ) -> None:
        connection = connect(eb_api, headers)["connection"]
        assert isinstance(connection, dict)
        redirect = enablebanking_sandbox.approve(authorization_of(db_session, connection["id"]), customer="bob")

        stranger = auth_headers(create_user_with_password(db_session, email="stranger@example.com"))
        theirs = eb_api.post(
            "/api/connections/callback/enablebanking", json={"redirect_url": redirect}, headers=stranger
        )
        assert theirs.status_code == 200
        assert theirs.json()["error"] == "unknown_reference"  # another user's state reveals nothing, spends nothing

        garbage = eb_api.post(
            "/api/connections/callback/enablebanking", json={"redirect_url": "https://example.com/"}, headers=headers
        )
        assert garbage.status_code == 422
        assert garbage.json()["code"] == "redirect_not_readable"

        mine = eb_api.post("/api/connections/callback/enablebanking", json={"redirect_url": redirect}, headers=headers)
        assert mine.status_code == 200, mine.text
        assert mine.json()["status"] == "active"
        assert mine.json()["connection_id"] == connection["id"]
        assert eb_api.get(f"/api/connections/{connection['id']}", headers=headers).json()["status"] == "active"


class TestLifecycle:
    def test_re_authorising_keeps_the_accounts_and_deleting_ends_the_session_at_enable_banking(
        self,
        eb_api: TestClient,
        headers: dict[str, str],
        enablebanking_sandbox: EnableBankingSandboxControl,
        eb_client: EnableBankingClient,
        db_session: Session,
    ) -> None:
        connection = connect(eb_api, headers)["connection"]
        assert isinstance(connection, dict)
        follow(eb_api, enablebanking_sandbox.approve(authorization_of(db_session, connection["id"])))
        accounts_before = sorted(
            str(a) for a in db_session.scalars(select(Account.id).where(Account.connection_id == connection["id"]))
        )
        first_session = db_session.scalar(select(EbSession.id).where(EbSession.connection_id == connection["id"]))
        assert first_session is not None

        # The bank's consent ends (as a sync would have recorded it): the connection is expired.
        db_session.execute(text("UPDATE eb_sessions SET ended_at = now() WHERE id = :s"), {"s": first_session})
        derive_connections(db_session, [connection["id"]])
        db_session.commit()
        assert eb_api.get(f"/api/connections/{connection['id']}", headers=headers).json()["status"] == "expired"

        renewed = eb_api.post(f"/api/connections/{connection['id']}/reauthorise", headers=headers)
        assert renewed.status_code == 201, renewed.text
        query = follow(eb_api, enablebanking_sandbox.approve(authorization_of(db_session, connection["id"])))
        assert query["status"] == ["active"]
        accounts_after = sorted(
            str(a) for a in db_session.scalars(select(Account.id).where(Account.connection_id == connection["id"]))
        )
        assert accounts_after == accounts_before
        sessions = db_session.scalars(select(EbSession.id).where(EbSession.connection_id == connection["id"])).all()
        assert len(sessions) == 2

        deleted = eb_api.delete(f"/api/connections/{connection['id']}", headers=headers)
        assert deleted.status_code == 204
        current = next(s for s in sessions if s != first_session)
        try:
            status = eb_client.get_session(current).status
        except (eb.SessionEndedError, eb.ResourceNotFoundError):
            status = "gone"
        assert status in ("CLOSED", "gone"), "the consent was ended at Enable Banking"
        assert eb_api.get(f"/api/connections/{connection['id']}", headers=headers).status_code == 404

    def test_enable_banking_unreachable_at_connect_is_a_503_with_a_sentence(
        self, api: TestClient, headers: dict[str, str], db_session: Session
    ) -> None:
        from src.ingest.enablebanking import raw
        from src.ingest.enablebanking.institutions import derive_institutions
        from src.providers.enablebanking.models import Aspsp

        aspsp = Aspsp.from_payload({"name": MOCK_BANK_NAME, "country": "FI", "maximum_consent_validity": 86400})
        derive_institutions(db_session, raw.store_aspsp_list(db_session, "FI", [aspsp]))
        db_session.commit()
        institution_id = db_session.scalar(text("SELECT id FROM eb_aspsps"))
        response = api.post("/api/connections", json={"institution_id": institution_id}, headers=headers)
        assert response.status_code == 503
        assert response.json()["code"] == "enablebanking_unavailable"
        assert "Enable Banking" in response.json()["detail"]
