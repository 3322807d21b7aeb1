"""The Enable Banking sandbox checks every official call's JWT as Enable Banking documents it (its
authentication chapter): RS256 signed by the application's key, `kid` the application id, `iss` "enablebanking.com",
`aud` "api.enablebanking.com", `iat`/`exp`, at most 24 h of life. Each refusal is a 401 ErrorResponse; an
inactive application gets 403 "Application is not active" on everything but `GET /application`."""

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxControl, make_jwt, make_key_pair


@pytest.fixture(scope="module")
def stranger_key(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Another application's private key: a signature the sandbox must not accept."""
    directory: Path = tmp_path_factory.mktemp("stranger")
    return make_key_pair(directory, "stranger").private_pem


def _get(eb: EnableBankingSandboxControl, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(eb.base_url + path, headers=headers, timeout=10)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


REFUSALS: dict[str, dict[str, Any]] = {
    "another kid": {"kid": "00000000-0000-4000-8000-000000000000"},
    "wrong issuer": {"iss": "example.com"},
    "wrong audience": {"aud": "api.example.com"},
    "the deprecated audience": {"aud": "api.tilisy.com"},
    "expired": {"issued_at": time.time() - 7200, "lifetime": 3600},
    "longer than 24 h": {"lifetime": 86_401},
    "issued in the future": {"issued_at": time.time() + 3600},
}


class TestJwt:
    def test_a_valid_token_is_accepted(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        response = _get(enablebanking_sandbox, "/application", enablebanking_sandbox.headers())
        assert response.status_code == 200, response.text
        assert response.json()["kid"] == APPLICATION_ID

    def test_24_hours_exactly_is_accepted(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        response = _get(enablebanking_sandbox, "/aspsps", enablebanking_sandbox.headers(lifetime=86_400))
        assert response.status_code == 200, response.text

    def test_no_authorization(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        response = _get(enablebanking_sandbox, "/aspsps", {})
        assert response.status_code == 401
        assert response.json() == {
            "message": "Authorization header is not provided",
            "code": 401,
            "error": "AUTHORIZATION_NOT_PROVIDED",
        }

    @pytest.mark.parametrize("case", sorted(REFUSALS))
    def test_refused(self, case: str, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        response = _get(enablebanking_sandbox, "/aspsps", enablebanking_sandbox.headers(**REFUSALS[case]))
        assert response.status_code == 401, response.text
        body = response.json()
        assert (body["error"], body["code"]) == ("UNAUTHORIZED_ACCESS", 401)
        assert body["detail"]

    def test_another_key(self, enablebanking_sandbox: EnableBankingSandboxControl, stranger_key: bytes) -> None:
        response = _get(enablebanking_sandbox, "/application", _bearer(make_jwt(stranger_key)))
        assert response.status_code == 401
        assert "signature" in response.json()["detail"]

    def test_another_algorithm(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        now = int(time.time())
        token = jwt.encode(
            {"iss": "enablebanking.com", "aud": "api.enablebanking.com", "iat": now, "exp": now + 60},
            "a-shared-secret-of-at-least-32-bytes!",
            algorithm="HS256",
            headers={"kid": APPLICATION_ID},
        )
        response = _get(enablebanking_sandbox, "/application", _bearer(token))
        assert response.status_code == 401
        assert "RS256" in response.json()["detail"]

    def test_a_missing_claim(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        token = jwt.encode(
            {"iss": "enablebanking.com", "aud": "api.enablebanking.com", "exp": int(time.time()) + 60},
            enablebanking_sandbox.keys.private_pem,
            algorithm="RS256",
            headers={"kid": APPLICATION_ID},
        )
        response = _get(enablebanking_sandbox, "/application", _bearer(token))
        assert response.status_code == 401
        assert "iat" in response.json()["detail"]

    def test_not_a_jwt(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        response = _get(enablebanking_sandbox, "/application", _bearer("not-a-jwt"))
        assert response.status_code == 401
        assert response.json()["error"] == "UNAUTHORIZED_ACCESS"

    def test_the_controls_need_no_token(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        assert httpx.get(enablebanking_sandbox.base_url + "/_sandbox/clock").status_code == 200


class TestApplication:
    def test_an_inactive_application(self, enablebanking_sandbox: EnableBankingSandboxControl) -> None:
        enablebanking_sandbox.set_application_active(False)
        headers = enablebanking_sandbox.headers()
        application = _get(enablebanking_sandbox, "/application", headers)
        assert application.status_code == 200
        assert application.json()["active"] is False
        refused = _get(enablebanking_sandbox, "/aspsps", headers)
        assert refused.status_code == 403
        assert refused.json() == {"code": 403, "message": "Application is not active"}

    def test_a_bad_token_is_refused_before_the_inactive_application(
        self, enablebanking_sandbox: EnableBankingSandboxControl
    ) -> None:
        enablebanking_sandbox.set_application_active(False)
        response = _get(enablebanking_sandbox, "/aspsps", enablebanking_sandbox.headers(aud="elsewhere"))
        assert response.status_code == 401
