"""Institutions and the connect flow, in-process, against the sandbox over HTTP.

The bank's consent is given through the sandbox's control surface here (`sandbox.approve`); the browser form is
driven in tests/test_full_flow.py.
"""

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from src.models import Account, Connection, GcRequisition, User
from tests.factories import auth_headers, create_user_with_password
from tests.harness.sandbox import SandboxControl

SANDBOX_BANK = "SANDBOXFINANCE_SFIN0000"


def _connect(api: TestClient, headers: dict[str, str], institution_id: str = SANDBOX_BANK) -> dict[str, object]:
    response = api.post(
        "/api/connections", json={"institution_id": institution_id, "friendly_name": "Daily"}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _requisition_of(db_session: Session, connection_id: str, *, besides: str | None = None) -> GcRequisition:
    """The connection's requisition (the one that is not `besides`, after a re-authorisation)."""
    requisitions = [
        r
        for r in db_session.scalars(select(GcRequisition).where(GcRequisition.connection_id == connection_id))
        if r.id != besides
    ]
    assert len(requisitions) == 1
    return requisitions[0]


def _callback(api: TestClient, reference: str, **extra: str) -> dict[str, list[str]]:
    response = api.get("/api/connections/callback", params={"ref": reference, **extra}, follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    return parse_qs(target.query)


class TestInstitutions:
    def test_a_country_is_fetched_once_then_served_from_the_table(
        self, api: TestClient, headers: dict[str, str], sandbox: SandboxControl
    ) -> None:
        first = api.get("/api/institutions", params={"country": "gb"}, headers=headers)
        assert first.status_code == 200
        ids = [item["id"] for item in first.json()["items"]]
        assert SANDBOX_BANK in ids
        assert "THISTLE_THSTGB2L" in ids
        again = api.get("/api/institutions", params={"country": "GB", "q": "thistle"}, headers=headers)
        assert [item["id"] for item in again.json()["items"]] == ["THISTLE_THSTGB2L"]
        assert sandbox.counters()["endpoints"]["GET /api/v2/institutions/"] == 1

    def test_the_sandbox_bank_listing_every_country_does_not_hide_the_others(
        self, api: TestClient, headers: dict[str, str]
    ) -> None:
        api.get("/api/institutions", params={"country": "GB"}, headers=headers)
        german = api.get("/api/institutions", params={"country": "DE"}, headers=headers).json()["items"]
        assert "RHEINBANK_RHBKDEFF" in [item["id"] for item in german]

    def test_bad_countries(self, api: TestClient, headers: dict[str, str]) -> None:
        assert (
            api.get("/api/institutions", params={"country": "ZZ"}, headers=headers).json()["code"] == "invalid_country"
        )
        malformed = api.get("/api/institutions", params={"country": "G1"}, headers=headers)
        assert malformed.status_code == 422
        assert malformed.json()["code"] == "validation_error"

    def test_requires_a_user(self, api: TestClient) -> None:
        assert api.get("/api/institutions", params={"country": "GB"}).status_code == 401


class TestCreate:
    def test_creates_a_pending_connection_with_the_consent_link(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        body = _connect(api, headers)
        connection = body["connection"]
        assert isinstance(connection, dict)
        assert connection["status"] == "pending"
        assert str(body["link"]).startswith(sandbox.base_url)
        requisition = _requisition_of(db_session, str(connection["id"]))
        assert requisition.status == "CR"
        assert len(requisition.reference) >= 32
        assert requisition.payload["redirect"].endswith("/api/connections/callback")

    def test_unknown_institution(self, api: TestClient, headers: dict[str, str]) -> None:
        response = api.post("/api/connections", json={"institution_id": "NO_SUCH_BANK"}, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "institution_not_found"

    def test_gocardless_outage_is_a_503_and_stores_nothing(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        api.get("/api/institutions", params={"country": "GB"}, headers=headers)
        sandbox.set_faults(error_rate=1.0, path_prefix="/api/v2/agreements/")
        response = api.post("/api/connections", json={"institution_id": SANDBOX_BANK}, headers=headers)
        assert response.status_code == 503
        assert response.json()["code"] == "gocardless_unavailable"
        assert response.headers["retry-after"]
        assert db_session.scalar(select(func.count()).select_from(Connection)) == 0


class TestCallback:
    def test_approve_links_the_connection_and_its_accounts(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, connection_id)
        sandbox.approve(requisition.id, customer="chloe")
        query = _callback(api, requisition.reference)
        assert query["status"] == ["active"]
        assert query["connection_id"] == [connection_id]
        read = api.get(f"/api/connections/{connection_id}", headers=headers).json()
        assert read["status"] == "active"
        assert read["account_count"] == 3
        assert read["days_left"] >= 89
        assert read["expiring_soon"] is False
        ibans = db_session.scalars(select(Account.iban).where(Account.connection_id == connection_id)).all()
        assert all(ibans)

        reused = _callback(api, requisition.reference)
        assert reused["error"] == ["already_used"]
        assert _callback(api, "no-such-reference")["error"] == ["unknown_reference"]

    def test_deny_rejects(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, connection_id)
        sandbox.deny(requisition.id)
        query = _callback(api, requisition.reference, error="UserCancelledSession", details="cancelled")
        assert query["status"] == ["rejected"]
        assert api.get(f"/api/connections/{connection_id}", headers=headers).json()["status"] == "rejected"

    def test_gocardless_down_at_the_callback_keeps_the_reference_usable(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, connection_id)
        sandbox.approve(requisition.id)
        sandbox.set_faults(error_rate=1.0, path_prefix="/api/v2/requisitions/")
        assert _callback(api, requisition.reference)["error"] == ["gocardless_unavailable"]
        sandbox.clear_faults()
        assert _callback(api, requisition.reference)["status"] == ["active"]


class TestManage:
    def test_list_rename_and_delete(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, connection_id)
        requisition_id = requisition.id
        sandbox.approve(requisition_id)
        _callback(api, requisition.reference)
        assert [c["id"] for c in api.get("/api/connections", headers=headers).json()["items"]] == [connection_id]
        renamed = api.patch(f"/api/connections/{connection_id}", json={"friendly_name": " Joint "}, headers=headers)
        assert renamed.json()["friendly_name"] == "Joint"

        assert api.delete(f"/api/connections/{connection_id}", headers=headers).status_code == 204
        assert api.get(f"/api/connections/{connection_id}", headers=headers).status_code == 404
        assert db_session.scalar(select(func.count()).select_from(Account)) == 0
        token = sandbox.token()
        gone = httpx.get(
            f"{sandbox.api_url}/requisitions/{requisition_id}/", headers={"Authorization": f"Bearer {token}"}
        )
        assert gone.status_code == 404

    def test_reauthorise_keeps_the_accounts(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, connection_id)
        sandbox.approve(requisition.id, customer="alice")
        _callback(api, requisition.reference)
        accounts_before = dict(
            db_session.execute(select(Account.iban, Account.id).where(Account.connection_id == connection_id)).all()
        )
        premature = api.post(f"/api/connections/{connection_id}/reauthorise", headers=headers)
        assert premature.status_code == 409

        db_session.execute(
            text("UPDATE connections SET expires_at = now() - interval '1 day' WHERE id = :c"), {"c": connection_id}
        )
        assert api.get(f"/api/connections/{connection_id}", headers=headers).json()["status"] == "expired"
        renewed = api.post(f"/api/connections/{connection_id}/reauthorise", headers=headers)
        assert renewed.status_code == 201
        new_requisition = _requisition_of(db_session, connection_id, besides=requisition.id)
        sandbox.approve(new_requisition.id, customer="alice")
        assert _callback(api, new_requisition.reference)["status"] == ["active"]

        db_session.expire_all()
        accounts_after = dict(
            db_session.execute(select(Account.iban, Account.id).where(Account.connection_id == connection_id)).all()
        )
        assert accounts_after == accounts_before
        assert api.get(f"/api/connections/{connection_id}", headers=headers).json()["status"] == "active"

    def test_connecting_the_same_bank_again_offers_the_existing_connection(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
    ) -> None:
        first = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        requisition = _requisition_of(db_session, first)
        sandbox.approve(requisition.id, customer="alice")
        _callback(api, requisition.reference)
        sandbox.reset_counters()
        again = api.post("/api/connections", json={"institution_id": SANDBOX_BANK}, headers=headers)
        assert again.status_code == 409
        body = again.json()
        assert body["code"] == "connection_exists"
        assert body["connection_id"] == first
        assert "Sandbox Finance" in body["detail"]
        assert sandbox.counters()["endpoints"].get("POST /api/v2/requisitions/", 0) == 0  # no consent was started
        # Going ahead anyway: the second connection's accounts are the ones the person already has.
        second = api.post(
            "/api/connections", json={"institution_id": SANDBOX_BANK, "allow_duplicate": True}, headers=headers
        )
        assert second.status_code == 201, second.text
        second_id = str(second.json()["connection"]["id"])
        second_requisition = _requisition_of(db_session, second_id)
        sandbox.approve(second_requisition.id, customer="alice")
        assert _callback(api, second_requisition.reference)["status"] == ["active"]
        listed = api.get("/api/accounts", headers=headers).json()["items"]
        ibans = [account["iban"] for account in listed]
        assert len(ibans) == len(set(ibans)) == 2
        # Each card says how many accounts it brings, though they are listed once.
        cards = {c["id"]: c["account_count"] for c in api.get("/api/connections", headers=headers).json()["items"]}
        assert cards == {first: 2, second_id: 2}

    def test_another_users_bank_is_not_a_reason_to_refuse(
        self, api: TestClient, headers: dict[str, str], db_session: Session
    ) -> None:
        _connect(api, headers)
        _connect(api, auth_headers(create_user_with_password(db_session)))


class TestIsolation:
    def test_another_users_connection_is_not_found(
        self, api: TestClient, headers: dict[str, str], db_session: Session, user: User
    ) -> None:
        connection_id = str(_connect(api, headers)["connection"]["id"])  # type: ignore[index]
        stranger = auth_headers(create_user_with_password(db_session))
        calls = [
            ("GET", f"/api/connections/{connection_id}", None),
            ("PATCH", f"/api/connections/{connection_id}", {"friendly_name": "mine"}),
            ("DELETE", f"/api/connections/{connection_id}", None),
            ("POST", f"/api/connections/{connection_id}/reauthorise", None),
        ]
        for method, path, body in calls:
            response = api.request(method, path, json=body, headers=stranger)
            assert response.status_code == 404, (method, path)
            assert response.json()["code"] == "connection_not_found"
        assert api.get("/api/connections", headers=stranger).json()["items"] == []
