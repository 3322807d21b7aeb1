"""`GET /api/meta`: the environment, which GoCardless, and the demo account on a `finsync dev` stack only."""

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from src.settings import Environment, settings


def test_a_finsync_dev_stack_offers_the_demo_account(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "finsync_env", Environment.development)
    monkeypatch.setattr(settings, "finsync_demo_account", True)
    response = client.get("/api/meta")
    assert response.status_code == 200
    assert response.json() == {
        "environment": "development",
        "gocardless": "sandbox",
        "demo_account": {"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
    }


def test_a_server_not_started_by_finsync_dev_offers_none(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development is the default environment: a server deployed without FINSYNC_ENV must not publish it either."""
    monkeypatch.setattr(settings, "finsync_env", Environment.development)
    monkeypatch.setattr(settings, "finsync_demo_account", False)
    assert client.get("/api/meta").json()["demo_account"] is None


def test_production_offers_no_demo_account(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "finsync_env", Environment.production)
    monkeypatch.setattr(settings, "gocardless_secret_id", SecretStr("id"))
    response = client.get("/api/meta")
    assert response.status_code == 200
    assert response.json() == {"environment": "production", "gocardless": "gocardless", "demo_account": None}


def test_needs_no_token(client: TestClient) -> None:
    """The sign-in page reads it before anyone is signed in."""
    assert client.get("/api/meta").status_code == 200


def test_is_documented_under_meta(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/meta"]["get"]
    assert operation["tags"] == ["meta"]
    assert operation["operationId"] == "meta_read_meta"
