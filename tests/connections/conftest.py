"""Fixtures for the connect flow: the app in-process (`api_client`, rolled-back session) whose GoCardless client
talks to the sandbox over HTTP, and an authenticated user."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from src.api.gocardless import get_gocardless
from src.models import User
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.tokens import InMemoryTokenStore
from tests.factories import auth_headers, create_user_with_password
from tests.harness.sandbox import SandboxControl


@pytest.fixture
def gocardless(sandbox: SandboxControl) -> Iterator[GoCardlessClient]:
    with GoCardlessClient(
        base_url=sandbox.base_url,
        secret_id=sandbox.secret_id,
        secret_key=sandbox.secret_key,
        token_store=InMemoryTokenStore(),
        sleep=lambda _: None,
    ) as client:
        yield client


@pytest.fixture
def api(api_client: TestClient, gocardless: GoCardlessClient) -> TestClient:
    api_client.app.dependency_overrides[get_gocardless] = lambda: gocardless  # type: ignore[attr-defined]
    return api_client


@pytest.fixture
def user(db_session: Session) -> User:
    return create_user_with_password(db_session)


@pytest.fixture
def headers(user: User) -> dict[str, str]:
    return auth_headers(user)
