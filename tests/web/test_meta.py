"""`GET /api/meta`: the environment, which GoCardless, each provider with its mode and problem, and the demo account
on a `finsync dev` stack only."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from src.integrations.enablebanking import enablebanking_status
from src.settings import Environment, settings
from tests.harness.enablebanking import APPLICATION_ID, EnableBankingSandboxControl


@pytest.fixture
def enablebanking_fine(
    enablebanking_sandbox: EnableBankingSandboxControl, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EnableBankingSandboxControl]:
    """The API's Settings pointed at the test run's Enable Banking sandbox (as `make dev` points it at its own)."""
    monkeypatch.setattr(settings, "enablebanking_base_url", enablebanking_sandbox.base_url)
    monkeypatch.setattr(settings, "sandbox_enablebanking_application_id", APPLICATION_ID)
    monkeypatch.setattr(settings, "sandbox_enablebanking_public_key_file", enablebanking_sandbox.keys.public_key_file)
    monkeypatch.setattr(settings, "sandbox_enablebanking_private_key_file", enablebanking_sandbox.private_key_file)
    enablebanking_status.forget()
    yield enablebanking_sandbox  # request it before `client`: the app's start check then asks this sandbox
    enablebanking_status.forget()


SANDBOXES = [
    {"name": "gocardless", "mode": "sandbox", "problem": None},
    {"name": "enablebanking", "mode": "sandbox", "problem": None},
]


def test_a_finsync_dev_stack_offers_the_demo_account(
    enablebanking_fine: EnableBankingSandboxControl, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "finsync_env", Environment.development)
    monkeypatch.setattr(settings, "finsync_demo_account", True)
    response = client.get("/api/meta")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("gocardless_requisitions")["monthly_allowance"] == 50  # the count: tests/api/test_meta.py
    assert body == {
        "environment": "development",
        "gocardless": "sandbox",
        "providers": SANDBOXES,
        "demo_account": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
    }


def test_an_enablebanking_problem_is_listed_and_asked_once_a_minute(
    enablebanking_fine: EnableBankingSandboxControl, client: TestClient
) -> None:
    enablebanking_fine.set_application_active(False)
    try:
        enablebanking_status.refresh()  # after the start check the app ran (its answer predates the change)
        providers = client.get("/api/meta").json()["providers"]
        assert providers[0] == SANDBOXES[0]
        assert providers[1]["mode"] == "sandbox"
        assert f"application {APPLICATION_ID} is not active" in providers[1]["problem"]
        asked = enablebanking_fine.counters()
        for _ in range(3):
            assert client.get("/api/meta").json()["providers"] == providers
        assert enablebanking_fine.counters() == asked  # the answer is reused, Enable Banking is not asked again
    finally:
        enablebanking_fine.set_application_active(True)


def test_a_server_not_started_by_finsync_dev_offers_none(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development is the default environment: a server deployed without FINSYNC_ENV must not publish it either."""
    monkeypatch.setattr(settings, "finsync_env", Environment.development)
    monkeypatch.setattr(settings, "finsync_demo_account", False)
    assert client.get("/api/meta").json()["demo_account"] is None


def test_production_offers_no_demo_account(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "finsync_env", Environment.production)
    monkeypatch.setattr(settings, "gocardless_secret_id", SecretStr("id"))
    monkeypatch.setattr(settings, "enablebanking_application_id", APPLICATION_ID)
    monkeypatch.setattr(enablebanking_status, "current", lambda: None)
    response = client.get("/api/meta")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("gocardless_requisitions")["monthly_allowance"] == 50  # the count: tests/api/test_meta.py
    assert body == {
        "environment": "production",
        "gocardless": "gocardless",
        "providers": [
            {"name": "gocardless", "mode": "live", "problem": None},
            {"name": "enablebanking", "mode": "live", "problem": None},
        ],
        "demo_account": None,
    }


def test_needs_no_token(client: TestClient) -> None:
    """The sign-in page reads it before anyone is signed in."""
    assert client.get("/api/meta").status_code == 200


def test_is_documented_under_meta(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/meta"]["get"]
    assert operation["tags"] == ["meta"]
    assert operation["operationId"] == "meta_read_meta"
