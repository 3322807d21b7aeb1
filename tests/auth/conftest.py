"""Fixtures of the auth tests.

`auth_api_client` is the shared `api_client`, whose session dependency behaves like the real unit of work (commit
when the endpoint returns, roll back when an error leaves it). That matters here, because a failed login must keep
its failure count and a reused refresh token must keep its family revoked although the request answers 401.

Like tests/conftest.py, this module imports nothing from `src` at import time: pytest loads it before
`pytest_configure` has pointed the environment at the test run's database and data folder.
"""

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture
def auth_api_client(api_client: "TestClient") -> "TestClient":
    return api_client
