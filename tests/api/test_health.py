"""`GET /health` and the error envelope."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from src.api.app import create_app
from src.db.engine import build_engine
from src.kit.dependencies import get_db_engine


class TestHealth:
    def test_ok_when_the_database_answers(self, api_client: TestClient) -> None:
        response = api_client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}

    def test_503_in_the_envelope_when_the_database_is_down(self) -> None:
        # A real server that is not there: port 1 on loopback refuses connections.
        dead = build_engine("postgresql+psycopg://finsync:pw@127.0.0.1:1/finsync")
        app = create_app()

        def _dead_engine() -> Iterator[Engine]:
            yield dead

        app.dependency_overrides[get_db_engine] = _dead_engine
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                response = client.get("/health")
        finally:
            dead.dispose()
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "database_unavailable"
        assert body["detail"]
        assert "pw" not in response.text

    def test_503_says_how_to_configure_when_no_database_is_set(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        script = (
            "from fastapi.testclient import TestClient\n"
            "from src.api.app import app\n"
            "r = TestClient(app).get('/health')\n"
            "print(r.status_code, r.json()['code'], r.json()['detail'])\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        assert result.stdout.startswith("503 database_unavailable")
        assert "DATABASE_URL" in result.stdout
        assert "make dev" in result.stdout


class TestErrorEnvelope:
    @pytest.mark.parametrize(("method", "path", "status"), [("GET", "/no-such-page", 404), ("POST", "/health", 405)])
    def test_unknown_addresses_answer_in_the_envelope(
        self, api_client: TestClient, method: str, path: str, status: int
    ) -> None:
        response = api_client.request(method, path)
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"code", "detail"}
        assert body["code"] in {"not_found", "method_not_allowed"}
