"""Ids that end up in a GoCardless URL are refused at the API's edge: a clear 4xx in the envelope, never a 500 and
never a call to the bank.

`api` is the app in-process with its GoCardless client pointed at the sandbox (a real server, tests/harness/
sandbox.py); the sandbox's counters (`/_sandbox/counters`) say whether any request reached it.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.harness.sandbox import SandboxControl

# Each of these once answered 500 (NUL in a PostgreSQL text parameter) or made finsync call GoCardless with a
# path that was not the one meant ("." and ".." are dot-segments: `GET /api/v2/institutions/../` is `GET /api/v2/`).
BAD_INSTITUTION_IDS = [".", "..", "...", "./x", "a/b", "%2e%2e", "A\x00B", " SANDBOXFINANCE_SFIN0000", ""]


def _bank_requests(sandbox: SandboxControl) -> dict[str, Any]:
    endpoints: dict[str, Any] = sandbox.counters()["endpoints"]
    return endpoints


def _assert_refused(response: Any, status: int = 422) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"]


class TestCallbackReference:
    def test_a_nul_in_the_reference_is_a_422_without_a_bank_call(
        self, api: TestClient, sandbox: SandboxControl
    ) -> None:
        sandbox.reset_counters()
        response = api.get("/api/connections/callback?ref=ab%00cd", follow_redirects=False)
        _assert_refused(response)
        assert "ref" in response.json()["detail"]
        assert _bank_requests(sandbox) == {}

    @pytest.mark.parametrize("ref", ["ab\ncd", "ab cd", "../x", "ab/cd", "x" * 257])
    def test_a_reference_finsync_never_made_is_refused(
        self, api: TestClient, sandbox: SandboxControl, ref: str
    ) -> None:
        sandbox.reset_counters()
        response = api.get("/api/connections/callback", params={"ref": ref}, follow_redirects=False)
        _assert_refused(response)
        assert _bank_requests(sandbox) == {}

    @pytest.mark.parametrize("name", ["error", "details"])
    def test_control_characters_in_the_banks_error_are_refused(
        self, api: TestClient, sandbox: SandboxControl, name: str
    ) -> None:
        sandbox.reset_counters()
        response = api.get(
            "/api/connections/callback",
            params={"ref": "a" * 43, name: "UserCancelledSession\nlevel=error forged"},
            follow_redirects=False,
        )
        _assert_refused(response)
        assert _bank_requests(sandbox) == {}

    def test_a_well_formed_unknown_reference_still_redirects(self, api: TestClient, sandbox: SandboxControl) -> None:
        sandbox.reset_counters()
        response = api.get(
            "/api/connections/callback",
            params={"ref": "no-such-reference", "error": "UserCancelledSession", "details": "User cancelled."},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert "error=unknown_reference" in response.headers["location"]
        assert _bank_requests(sandbox) == {}


class TestInstitutionId:
    @pytest.mark.parametrize("institution_id", BAD_INSTITUTION_IDS)
    def test_is_refused_before_any_bank_call(
        self, api: TestClient, headers: dict[str, str], sandbox: SandboxControl, institution_id: str
    ) -> None:
        sandbox.reset_counters()
        response = api.post("/api/connections", json={"institution_id": institution_id}, headers=headers)
        _assert_refused(response)
        assert _bank_requests(sandbox) == {}

    def test_a_well_formed_unknown_institution_is_asked_for_once(
        self, api: TestClient, headers: dict[str, str], sandbox: SandboxControl
    ) -> None:
        sandbox.reset_counters()
        response = api.post("/api/connections", json={"institution_id": "NO_SUCH_BANK"}, headers=headers)
        assert response.status_code == 404
        assert _bank_requests(sandbox) == {"GET /api/v2/institutions/NO_SUCH_BANK/": 1, "POST /api/v2/token/new/": 1}
