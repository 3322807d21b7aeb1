"""`AuthService` directly on `db_session` (real PostgreSQL, rolled back after each test).

The service only flushes; what a refused request keeps is the endpoint tests' business (test_endpoints.py).
Sign-in takes a `SignInThrottle`: a real in-process `RateLimiter`, new for each test, and a client address.
"""

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from src.auth.exceptions import EmailTakenError, InvalidCredentialsError, InvalidRefreshTokenError
from src.auth.service import auth as auth_service
from src.auth.throttle import (
    FAILURES_TO_LOCK_AN_ACCOUNT,
    LOCK_DURATION,
    SIGN_IN_FAILURES_PER_ADDRESS,
    SignInThrottle,
)
from src.auth.tokens import decode_access_token, hash_refresh_token
from src.models import RefreshToken
from src.ratelimit import RateLimiter, TooManyRequestsError
from tests.factories import create_user, create_user_with_password

PASSWORD = "correct horse battery"
FAILURES_PER_ADDRESS = SIGN_IN_FAILURES_PER_ADDRESS.windows[0].amount
FAILURES_TO_LOCK = FAILURES_TO_LOCK_AN_ACCOUNT.windows[0].amount
NFC = unicodedata.normalize("NFC", "José.Müller@example.com")
NFD = unicodedata.normalize("NFD", NFC)


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter()


@pytest.fixture
def throttle(limiter: RateLimiter) -> SignInThrottle:
    return SignInThrottle(limiter, "192.0.2.1")


def _fail_from(address: str, limiter: RateLimiter, session: Session, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(
                session, email=email, password="wrong password!", throttle=SignInThrottle(limiter, address)
            )


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

    @pytest.mark.parametrize("second", [NFD, NFC.upper(), "Ｊｏｓé.Müller@example.com"])
    def test_email_taken_whatever_the_unicode_form(self, db_session: Session, second: str) -> None:
        assert NFD != NFC
        user = auth_service.register(db_session, email=NFC, password=PASSWORD)

        with pytest.raises(EmailTakenError):
            auth_service.register(db_session, email=second, password=PASSWORD)
        assert user.email == NFC

    def test_stores_the_normal_form(self, db_session: Session) -> None:
        user = auth_service.register(db_session, email=f"  {NFD} ", password=PASSWORD)

        assert user.email == NFC


class TestAuthenticate:
    def test_right_password(self, db_session: Session, throttle: SignInThrottle) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        found = auth_service.authenticate(db_session, email=user.email.title(), password=PASSWORD, throttle=throttle)

        assert found is user

    def test_any_unicode_form_of_the_address_signs_in(self, db_session: Session, throttle: SignInThrottle) -> None:
        user = auth_service.register(db_session, email=NFC, password=PASSWORD)

        for typed in (NFD, NFC.lower()):
            assert auth_service.authenticate(db_session, email=typed, password=PASSWORD, throttle=throttle) is user

    def test_an_address_stored_before_normalisation_is_normalised_at_sign_in(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        legacy = create_user_with_password(db_session, email=NFD, password=PASSWORD)

        assert auth_service.authenticate(db_session, email=NFD, password=PASSWORD, throttle=throttle) is legacy

        assert legacy.email == NFC
        assert auth_service.authenticate(db_session, email=NFC, password=PASSWORD, throttle=throttle) is legacy

    def test_an_address_registered_twice_before_normalisation_keeps_both_accounts_apart(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        first = create_user_with_password(db_session, email=NFC, password=PASSWORD)
        second = create_user_with_password(db_session, email=NFD, password="another passphrase")

        found = auth_service.authenticate(db_session, email=NFD, password="another passphrase", throttle=throttle)

        assert found is second
        assert second.email == NFD  # its normal form belongs to `first`: left for an operator to resolve
        assert auth_service.authenticate(db_session, email=NFC, password=PASSWORD, throttle=throttle) is first

    def test_one_address_is_throttled_before_it_can_lock_the_account(
        self, db_session: Session, limiter: RateLimiter
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        _fail_from("192.0.2.1", limiter, db_session, user.email, FAILURES_PER_ADDRESS)

        with pytest.raises(TooManyRequestsError) as refused:
            auth_service.authenticate(
                db_session, email=user.email, password=PASSWORD, throttle=SignInThrottle(limiter, "192.0.2.1")
            )

        assert 1 <= int(refused.value.headers["Retry-After"]) <= 15 * 60
        assert user.failed_login_count == FAILURES_PER_ADDRESS
        assert user.locked_until is None
        other = SignInThrottle(limiter, "198.51.100.1")
        assert auth_service.authenticate(db_session, email=user.email, password=PASSWORD, throttle=other) is user

    def test_an_account_locks_only_after_failures_from_several_addresses(
        self, db_session: Session, limiter: RateLimiter
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        addresses = [f"192.0.2.{n}" for n in range(1, 1 + -(-FAILURES_TO_LOCK // FAILURES_PER_ADDRESS))]
        assert len(addresses) >= 4

        for address in addresses[:-1]:
            _fail_from(address, limiter, db_session, user.email, FAILURES_PER_ADDRESS)
        failures = FAILURES_PER_ADDRESS * (len(addresses) - 1)
        assert user.failed_login_count == failures
        assert user.locked_until is None
        _fail_from(addresses[-1], limiter, db_session, user.email, FAILURES_TO_LOCK - failures)

        assert user.failed_login_count == 0
        assert user.locked_until is not None
        assert user.locked_until - datetime.now(UTC) <= LOCK_DURATION
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(
                db_session, email=user.email, password=PASSWORD, throttle=SignInThrottle(limiter, "203.0.113.9")
            )

    def test_locked_refuses_the_right_password_without_extending_the_lock(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        locked_until = datetime.now(UTC) + timedelta(minutes=3)
        user.locked_until = locked_until
        db_session.flush()

        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password=PASSWORD, throttle=throttle)
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password="wrong password!", throttle=throttle)

        assert user.locked_until == locked_until
        assert user.failed_login_count == 0

    def test_unknown_email(self, db_session: Session, throttle: SignInThrottle) -> None:
        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email="nobody@example.com", password=PASSWORD, throttle=throttle)

    def test_a_stored_value_that_is_not_a_hash_never_matches(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        user = create_user(db_session, password_hash="not-a-real-hash")

        with pytest.raises(InvalidCredentialsError):
            auth_service.authenticate(db_session, email=user.email, password="not-a-real-hash", throttle=throttle)

    def test_a_hash_with_other_parameters_is_upgraded_on_sign_in(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        # Hashed with argon2-cffi's defaults (the "standard" setting): the test run's parameters differ.
        from pwdlib.hashers.argon2 import Argon2Hasher

        user = create_user(db_session, password_hash=Argon2Hasher().hash(PASSWORD))
        old_hash = user.password_hash

        auth_service.authenticate(db_session, email=user.email, password=PASSWORD, throttle=throttle)

        assert user.password_hash != old_hash
        assert user.password_hash.startswith("$argon2id$")
        assert auth_service.authenticate(db_session, email=user.email, password=PASSWORD, throttle=throttle) is user


class TestTokens:
    def test_login_issues_an_access_token_and_stores_only_the_refresh_token_hash(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        issued = auth_service.login(db_session, email=user.email, password=PASSWORD, throttle=throttle)

        assert decode_access_token(issued.access_token) == user.id
        assert issued.expires_in == 900
        row = db_session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)).one()
        assert row.token_hash == hash_refresh_token(issued.refresh_token)
        assert row.token_hash != issued.refresh_token
        assert len(issued.refresh_token) >= 43  # 256 bits, base64url
        assert timedelta(days=29) < row.expires_at - datetime.now(UTC) <= timedelta(days=30)

    def test_each_login_starts_a_family(self, db_session: Session, throttle: SignInThrottle) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)

        auth_service.login(db_session, email=user.email, password=PASSWORD, throttle=throttle)
        auth_service.login(db_session, email=user.email, password=PASSWORD, throttle=throttle)

        families = db_session.scalars(select(RefreshToken.family_id).where(RefreshToken.user_id == user.id)).all()
        assert len(set(families)) == 2

    @pytest.mark.parametrize("presented", [None, "", "never-issued"])
    def test_refresh_refuses_missing_and_unknown_tokens(self, db_session: Session, presented: str | None) -> None:
        with pytest.raises(InvalidRefreshTokenError):
            auth_service.refresh(db_session, refresh_token=presented)

    def test_refresh_refuses_a_revoked_token_without_touching_its_family_again(
        self, db_session: Session, throttle: SignInThrottle
    ) -> None:
        user = create_user_with_password(db_session, password=PASSWORD)
        issued = auth_service.login(db_session, email=user.email, password=PASSWORD, throttle=throttle)
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
