"""What one user may spend of GoCardless's shared budget: connects, re-authorisations, deletions and institution
listings, in-process against the sandbox over HTTP.

Each test's app has a rate limiter of its own (a new app per test). Requests from another client address go
through a second TestClient on the same app (`_from`): same session override, same limiter, another peer.
The sandbox's company-wide limit on agreement and requisition creations (100 a minute at GoCardless) is lowered
through its control surface where a test floods it, and restored by the fixture's reset before the next test.
"""

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from src.connections.quotas import CONSENT_REQUESTS_PER_USER, DELETIONS_PER_USER, MAX_PENDING_CONNECTIONS
from src.institutions.quotas import INSTITUTION_LISTINGS_PER_USER
from src.models.enums import ConnectionStatus
from tests.factories import auth_headers, create_connection, create_user_with_password
from tests.harness.sandbox import SandboxControl

# Every institution the sandbox serves: distinct banks, so that no rule about connecting one bank twice is
# what refuses a connect here.
BANKS = [
    "SANDBOXFINANCE_SFIN0000",
    "THISTLE_THSTGB2L",
    "ALBION_ALBNGB21",
    "RHEINBANK_RHBKDEFF",
    "SPARKASSE_SUED_SPSDDE7S",
    "LUMIERE_BLUMFRPP",
    "BANCOSOL_BSOLESMM",
    "POLDER_PLDRNL2A",
    "NORDSJO_NRDSSESS",
    "WISLA_WSLAPLPW",
]


def _from(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 50000), raise_server_exceptions=False)


def _connect(client: TestClient, headers: dict[str, str], bank: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/connections", json={"institution_id": bank}, headers=headers)
    body: dict[str, object] = response.json()
    return response.status_code, body


def _assert_rate_limited(response_headers: dict[str, str], body: dict[str, object], *, at_most: int) -> None:
    assert body["code"] == "rate_limited"
    assert "Try again in" in str(body["detail"])
    assert 1 <= int(response_headers["retry-after"]) <= at_most
    assert datetime.fromisoformat(str(body["retry_at"])) > datetime.now(UTC)


class TestConnectFlood:
    def test_a_flood_by_one_user_leaves_connects_for_another_user_working(
        self, api: TestClient, db_session: Session, sandbox: SandboxControl
    ) -> None:
        # Room for 8 connects a minute (an agreement and a requisition each): fewer than the flood below.
        sandbox.set_limits(general={"create": [16, 60]})
        flooder = auth_headers(create_user_with_password(db_session))
        other = auth_headers(create_user_with_password(db_session))
        flooding = _from(api, "203.0.113.10")

        answers = [_connect(flooding, flooder, bank) for bank in BANKS]

        statuses = [status for status, _ in answers]
        assert statuses[:MAX_PENDING_CONNECTIONS] == [201] * MAX_PENDING_CONNECTIONS
        refused = answers[MAX_PENDING_CONNECTIONS:]
        assert {status for status, _ in refused} <= {409, 429}, statuses
        assert all(body["code"] in ("too_many_pending_connections", "rate_limited") for _, body in refused)
        creates = sandbox.counters()["endpoints"]
        assert creates.get("POST /api/v2/requisitions/", 0) == MAX_PENDING_CONNECTIONS

        status, body = _connect(_from(api, "198.51.100.20"), other, "THISTLE_THSTGB2L")
        assert status == 201, body

    def test_pending_connects_are_capped_until_one_is_finished_or_deleted(
        self, api: TestClient, headers: dict[str, str]
    ) -> None:
        created = [_connect(api, headers, bank) for bank in BANKS[:MAX_PENDING_CONNECTIONS]]
        assert [status for status, _ in created] == [201] * MAX_PENDING_CONNECTIONS

        status, body = _connect(api, headers, BANKS[MAX_PENDING_CONNECTIONS])

        assert status == 409
        assert body["code"] == "too_many_pending_connections"
        assert body["detail"] == (
            f"You have {MAX_PENDING_CONNECTIONS} bank connections waiting for your consent at the bank. Finish one "
            "(follow its consent link) or delete it before connecting another bank."
        )
        first = created[0][1]["connection"]
        assert isinstance(first, dict)
        assert api.delete(f"/api/connections/{first['id']}", headers=headers).status_code == 204
        assert _connect(api, headers, BANKS[MAX_PENDING_CONNECTIONS])[0] == 201


class TestConsentRequests:
    def test_re_authorisations_are_limited_per_user(
        self, api: TestClient, db_session: Session, sandbox: SandboxControl
    ) -> None:
        owner = create_user_with_password(db_session)
        connection = create_connection(db_session, user=owner, status=ConnectionStatus.expired)
        other = create_user_with_password(db_session)
        other_connection = create_connection(db_session, user=other, status=ConnectionStatus.expired)
        allowed = CONSENT_REQUESTS_PER_USER.windows[0].amount
        path = f"/api/connections/{connection.id}/reauthorise"

        answers = [api.post(path, headers=auth_headers(owner)) for _ in range(allowed + 1)]

        assert [answer.status_code for answer in answers] == [201] * allowed + [429]
        _assert_rate_limited(dict(answers[-1].headers), answers[-1].json(), at_most=60)
        assert sandbox.counters()["endpoints"]["POST /api/v2/requisitions/"] == allowed
        elsewhere = _from(api, "198.51.100.30").post(
            f"/api/connections/{other_connection.id}/reauthorise", headers=auth_headers(other)
        )
        assert elsewhere.status_code == 201

    def test_deletions_are_limited_per_user(self, api: TestClient, headers: dict[str, str]) -> None:
        allowed = DELETIONS_PER_USER.windows[0].amount

        # Unknown ids: each deletion counts before its connection is looked up.
        answers = [api.delete(f"/api/connections/{uuid.uuid4()}", headers=headers) for _ in range(allowed + 1)]

        assert [answer.status_code for answer in answers] == [404] * allowed + [429]
        _assert_rate_limited(dict(answers[-1].headers), answers[-1].json(), at_most=60)

    def test_institution_listings_are_limited_per_user(self, api: TestClient, headers: dict[str, str]) -> None:
        allowed = INSTITUTION_LISTINGS_PER_USER.windows[0].amount

        answers = [api.get("/api/institutions", params={"country": "GB"}, headers=headers) for _ in range(allowed + 1)]

        assert [answer.status_code for answer in answers] == [200] * allowed + [429]
        _assert_rate_limited(dict(answers[-1].headers), answers[-1].json(), at_most=60)

    def test_refusals_are_documented(self, api: TestClient) -> None:
        paths = api.get("/openapi.json").json()["paths"]

        assert {"409", "429"} <= set(paths["/api/connections"]["post"]["responses"])
        assert "429" in paths["/api/connections/{connection_id}/reauthorise"]["post"]["responses"]
        assert "429" in paths["/api/connections/{connection_id}"]["delete"]["responses"]
        assert "429" in paths["/api/institutions"]["get"]["responses"]
