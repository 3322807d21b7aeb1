"""`AuthService` directly on `db_session` (real PostgreSQL, rolled back after each test).

The service only flushes; what a refused request keeps is the endpoint tests' business (test_endpoints.py).
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from src.auth.exceptions import EmailTakenError, InvalidCredentialsError, InvalidRefreshTokenError
from src.auth.service import LOCK_DURATION, MAX_FAILED_LOGINS
from src.auth.service import auth as auth_service
from src.auth.tokens import decode_access_token, hash_refresh_token
from src.models import RefreshToken
from tests.factories import create_user, create_user_with_password

PASSWORD = "correct horse battery"


class TestRegister:
    def test_stores_an_argon2_hash(self, db_session: Session) -> None:
        user = auth_service.register(db_session, email="ada@example.com", password=PASSWORD)

        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert user.failed_login_count == 0

    def test_email_taken_whatever_the_case(self, db_session: Session) -> None:
        auth_service.register(db_session, email="ada@example.com", password=PASSWORD)

        with pytest.raises(EmailTakenError):
            auth_service.register(db_session, email="ADA@example.com", password=PASSWORD)


class TestAuthenticate:
    def test_right_password(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        assert auth_service.authenticate(db_session, email=user.email.title(), password=PASSWORD) is user

    def test_failures_count_then_lock(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        for failures in range(1, MAX_FAILED_LOGINS):
            with pytest.raises(InvalidCredentialsError):
                auth_service.authenticate(db_session, email=user.email, password="wrong password!")
            assert user.failed_login_count == failures
            assert user.locked_until is None
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password="wrong password!")

        assert user.failed_login_count == 0
        assert user.locked_until is not None
        assert user.locked_until - datetime.now(UTC) <= LOCK_DURATION

    def test_locked_refuses_the_right_password_without_extending_the_lock(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        locked_until = datetime.now(UTC) + timedelta(minutes=3)
        user.locked_until = locked_until
        db_session.flush()

        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password=PASSWORD)
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password="wrong password!")

        assert user.locked_until == locked_until
        assert user.failed_login_count == 0

    def test_unknown_email(self, db_session: Session) -> None:
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email="nobody@example.com", password=PASSWORD)

    def test_a_stored_value_that_is_not_a_hash_never_matches(self, db_session: Session) -> None:
        user = create_user(db_session, password_hash="not-a-real-hash")

        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password="not-a-real-hash")

    def test_a_hash_with_other_parameters_is_upgraded_on_sign_in(self, db_session: Session) -> None:
        # Hashed with argon2-cffi's defaults (the "standard" setting): the test run's parameters differ.
        from pwdlib.hashers.argon2 import Argon2Hasher

        user = create_user(db_session, password_hash=Argon2Hasher().hash(PASSWORD))
        old_hash = user.password_hash

        auth_service.authenticate(db_session, email=user.email, password=PASSWORD)

        assert user.password_hash != old_hash
        assert user.password_hash.startswith("$argon2id$")
        assert auth_service.authenticate(db_session, email=user.email, password=PASSWORD) is user


class TestTokens:
    def test_login_issues_an_access_token_and_stores_only_the_refresh_token_hash(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        issued = auth_service.login(db_session, email=user.email, password=PASSWORD)

        assert decode_access_token(issued.access_token) == user.id
        assert issued.expires_in == 900
        row = db_session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)).one()
        assert row.token_hash == hash_refresh_token(issued.refresh_token)
        assert row.token_hash != issued.refresh_token
        assert len(issued.refresh_token) >= 43  # 256 bits, base64url
        assert timedelta(days=29) < row.expires_at - datetime.now(UTC) <= timedelta(days=30)

    def test_each_login_starts_a_family(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        auth_service.login(db_session, email=user.email, password=PASSWORD)
        auth_service.login(db_session, email=user.email, password=PASSWORD)

        families = db_session.scalars(select(RefreshToken.family_id).where(RefreshToken.user_id == user.id)).all()
        assert len(set(families)) == 2

    @pytest.mark.parametrize("presented", [None, "", "never-issued"])
    def test_refresh_refuses_missing_and_unknown_tokens(self, db_session: Session, presented: str | None) -> None:
        with pytest.raises(InvalidRefreshTokenError):
            auth_service.refresh(db_session, refresh_token=presented)

    def test_refresh_refuses_a_revoked_token_without_touching_its_family_again(self, db_session: Session) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        issued = auth_service.login(db_session, email=user.email, password=PASSWORD)
        auth_service.logout(db_session, refresh_token=issued.refresh_token)
        row = db_session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)).one()
        revoked_at = row.revoked_at

        with pytest.raises(InvalidRefreshTokenError):
            auth_service.refresh(db_session, refresh_token=issued.refresh_token)

        assert revoked_at is not None
        assert row.revoked_at == revoked_at
        assert row.rotated_at is None

    def test_logout_of_an_unknown_token_does_nothing(self, db_session: Session) -> None:
        auth_service.logout(db_session, refresh_token="never-issued")
        auth_service.logout(db_session, refresh_token=None)
