"""The primitives (Argon2 hashing, token helpers), the setting that picks hashing parameters, and the factory
helpers other domains' tests use to authenticate."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from src.auth.passwords import hash_password, verify_password
from src.auth.tokens import hash_refresh_token, new_refresh_token
from src.settings import Settings, settings
from tests.factories import auth_headers, create_user_with_password


class TestPasswordHashingSetting:
    def test_the_test_run_uses_fast_parameters(self) -> None:
        # Also proves `src.settings` was first imported after tests/conftest.py set the environment.
        assert settings.password_hashing == "fast"

    def test_standard_is_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("PASSWORD_HASHING")

        assert Settings(_env_file=None).password_hashing == "standard"

    def test_fast_is_refused_in_production(self) -> None:
        with pytest.raises(ValidationError, match="PASSWORD_HASHING=fast"):
            Settings(_env_file=None, finsync_env="production", jwt_secret="x" * 64, password_hashing="fast")

    def test_standard_is_accepted_in_production(self) -> None:
        from cryptography.fernet import Fernet

        production = Settings(
            _env_file=None,
            finsync_env="production",
            jwt_secret="x" * 64,
            finsync_secret_key=Fernet.generate_key().decode(),
            password_hashing="standard",
        )

        assert production.password_hashing == "standard"


class TestPasswords:
    def test_hash_is_argon2id_salted_and_verifies(self) -> None:
        first, second = hash_password("correct horse battery"), hash_password("correct horse battery")

        assert first.startswith("$argon2id$")
        assert first != second
        assert verify_password("correct horse battery", first) == (True, None)
        assert verify_password("correct horse batterY", first) == (False, None)


class TestRefreshTokenPrimitives:
    def test_random_and_hashed_with_sha256(self) -> None:
        token = new_refresh_token()

        assert token != new_refresh_token()
        assert len(hash_refresh_token(token)) == 64
        assert hash_refresh_token(token) == hash_refresh_token(token)
        assert token not in hash_refresh_token(token)


class TestFactories:
    def test_a_user_with_a_password_and_a_bearer_header(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session, email="grace@example.com")

        me = auth_api_client.get("/auth/me", headers=auth_headers(user))
        token = auth_api_client.post(
            "/auth/token", data={"username": "grace@example.com", "password": "correct horse battery"}
        )

        assert me.status_code == 200
        assert me.json()["email"] == "grace@example.com"
        assert token.status_code == 200
