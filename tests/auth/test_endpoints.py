"""The `/auth` endpoints over HTTP, in-process, against real PostgreSQL.

`auth_api_client` (tests/auth/conftest.py) commits or rolls back each request like the real unit of work, and
`db_session` is the same session, so a test can look at the rows a request left behind. Time is moved by
rewriting timestamps in the database (`locked_until`, `expires_at`), never by sleeping. Requests from other client
addresses go through another TestClient on the same app (`_from`): it has the same session override and the same
rate limiter, and only the peer address differs.
"""

import base64
import json
import logging
import statistics
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from src.auth import passwords
from src.auth.cookies import REFRESH_COOKIE_NAME
from src.auth.throttle import (
    FAILURES_TO_LOCK_AN_ACCOUNT,
    REGISTRATIONS_PER_ADDRESS,
    SIGN_IN_ATTEMPTS_PER_ADDRESS,
    SIGN_IN_FAILURES_PER_ADDRESS,
)
from src.auth.tokens import create_access_token, hash_refresh_token
from src.models import RefreshToken, User
from src.settings import Environment, settings
from tests.factories import auth_headers, create_user_with_password

PASSWORD = "correct horse battery"
FAILURES_PER_ADDRESS = SIGN_IN_FAILURES_PER_ADDRESS.windows[0].amount
FAILURES_TO_LOCK = FAILURES_TO_LOCK_AN_ACCOUNT.windows[0].amount


def _from(client: TestClient, address: str) -> TestClient:
    """Another client of the same app, connecting from `address`."""
    return TestClient(client.app, client=(address, 50000), raise_server_exceptions=False)


def _lock_by_failures(client: TestClient, email: str) -> None:
    """Fail as often as locks an account: that takes several addresses, each within its own allowance."""
    failures = 0
    for n in range(1, 100):
        other = _from(client, f"192.0.2.{n}")
        for _ in range(min(FAILURES_PER_ADDRESS, FAILURES_TO_LOCK - failures)):
            assert _login(other, email, "wrong password!").status_code == 401
            failures += 1
        if failures == FAILURES_TO_LOCK:
            return


def _login(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/token", data={"username": email, "password": password})


def _refresh_cookie(response: httpx.Response) -> Any:
    cookies = [header for header in response.headers.get_list("set-cookie") if header.startswith(REFRESH_COOKIE_NAME)]
    assert len(cookies) == 1
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(cookies[0])
    return parsed[REFRESH_COOKIE_NAME]


def _stored(session: Session, refresh_token: str) -> RefreshToken:
    row = session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _reload(session: Session, user: User) -> User:
    session.refresh(user)
    return user


class TestRegister:
    def test_creates_a_user_who_can_sign_in(self, auth_api_client: TestClient, db_session: Session) -> None:
        response = auth_api_client.post("/auth/register", json={"email": "ada@example.com", "password": PASSWORD})

        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "email", "created_at"}
        assert body["email"] == "ada@example.com"
        assert _login(auth_api_client, "ada@example.com").status_code == 200

    def test_stores_an_argon2_hash_not_the_password(self, auth_api_client: TestClient, db_session: Session) -> None:
        response = auth_api_client.post("/auth/register", json={"email": "ada@example.com", "password": PASSWORD})

        user = db_session.get(User, response.json()["id"])
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash

    @pytest.mark.parametrize("second", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"])
    def test_duplicate_email_in_any_case_is_409(self, auth_api_client: TestClient, second: str) -> None:
        first = auth_api_client.post("/auth/register", json={"email": "Ada@example.com", "password": PASSWORD})
        assert first.status_code == 201

        response = auth_api_client.post("/auth/register", json={"email": second, "password": PASSWORD})

        assert response.status_code == 409
        assert response.json() == {
            "code": "email_taken",
            "detail": "An account with this e-mail address already exists.",
        }

    def test_nfc_and_nfd_forms_of_an_address_register_once(self, auth_api_client: TestClient) -> None:
        composed = unicodedata.normalize("NFC", "José.Müller@example.com")
        decomposed = unicodedata.normalize("NFD", composed)
        assert composed != decomposed

        first = auth_api_client.post("/auth/register", json={"email": decomposed, "password": PASSWORD})
        second = auth_api_client.post("/auth/register", json={"email": composed, "password": PASSWORD})
        full_width = auth_api_client.post(
            "/auth/register", json={"email": "Ｊｏｓé.Müller@example.com", "password": PASSWORD}
        )

        assert first.status_code == 201
        assert first.json()["email"] == composed
        assert (second.status_code, second.json()["code"]) == (409, "email_taken")
        assert (full_width.status_code, full_width.json()["code"]) == (409, "email_taken")
        for typed in (composed, decomposed):
            assert _login(auth_api_client, typed).status_code == 200

    def test_an_address_whose_normal_form_is_not_an_address_is_422(self, auth_api_client: TestClient) -> None:
        # U+FDFA's compatibility form is a phrase with spaces.
        response = auth_api_client.post("/auth/register", json={"email": "\ufdfa@example.com", "password": PASSWORD})

        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    def test_registration_is_limited_per_client_address(self, auth_api_client: TestClient) -> None:
        allowed = REGISTRATIONS_PER_ADDRESS.windows[0].amount
        answers = [
            auth_api_client.post("/auth/register", json={"email": f"user{n}@example.com", "password": PASSWORD})
            for n in range(allowed + 2)
        ]

        assert [answer.status_code for answer in answers] == [201] * allowed + [429, 429]
        refused = answers[-1]
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        elsewhere = _from(auth_api_client, "198.51.100.40").post(
            "/auth/register", json={"email": "elsewhere@example.com", "password": PASSWORD}
        )
        assert elsewhere.status_code == 201

    def test_short_password_is_422_in_the_envelope(self, auth_api_client: TestClient) -> None:
        response = auth_api_client.post("/auth/register", json={"email": "ada@example.com", "password": "123456789"})

        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "validation_error"
        assert [error["loc"] for error in body["errors"]] == [["body", "password"]]

    @pytest.mark.parametrize(
        "email", ["", "ada", "ada@example", "ada @example.com", "ada@@example.com", "@example.com"]
    )
    def test_malformed_email_is_422_in_the_envelope(self, auth_api_client: TestClient, email: str) -> None:
        response = auth_api_client.post("/auth/register", json={"email": email, "password": PASSWORD})

        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "validation_error"
        assert [error["loc"] for error in body["errors"]] == [["body", "email"]]


class TestToken:
    def test_answers_tokens_and_me_works_with_the_access_token(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)

        response = _login(auth_api_client, user.email.upper())

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        me = auth_api_client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200
        assert me.json() | {"created_at": None} == {"id": str(user.id), "email": user.email, "created_at": None}
        assert datetime.fromisoformat(me.json()["created_at"]) == user.created_at

    def test_access_token_claims(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)

        access_token = _login(auth_api_client, user.email).json()["access_token"]

        assert jwt.get_unverified_header(access_token)["alg"] == "HS256"
        claims = jwt.decode(access_token, settings.get_jwt_secret(), algorithms=["HS256"])
        assert set(claims) == {"sub", "exp", "iat", "type"}
        assert claims["sub"] == str(user.id)
        assert claims["type"] == "access"
        assert claims["exp"] - claims["iat"] == 15 * 60

    def test_refresh_cookie_attributes(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)

        response = _login(auth_api_client, user.email)

        cookie = _refresh_cookie(response)
        assert cookie.value == response.json()["refresh_token"]
        assert cookie["httponly"] is True
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/auth"
        assert not cookie["secure"]
        assert int(cookie["max-age"]) == 30 * 24 * 3600

    def test_refresh_cookie_is_secure_in_production(
        self, auth_api_client: TestClient, db_session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        user = create_user_with_password(db_session)
        monkeypatch.setattr(settings, "finsync_env", Environment.production)

        cookie = _refresh_cookie(_login(auth_api_client, user.email))

        assert cookie["secure"] is True

    def test_unknown_email_wrong_password_and_locked_answer_byte_identical(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        locked = create_user_with_password(db_session)
        db_session.execute(
            update(User).where(User.id == locked.id).values(locked_until=datetime.now(UTC) + timedelta(minutes=5))
        )

        responses = [
            _login(auth_api_client, "nobody@example.com"),
            _login(auth_api_client, user.email, "wrong password!"),
            _login(auth_api_client, locked.email),  # the right password, but locked
        ]

        assert {response.status_code for response in responses} == {401}
        assert {response.content for response in responses} == {responses[0].content}
        assert {response.headers["www-authenticate"] for response in responses} == {"Bearer"}
        assert responses[0].json()["code"] == "invalid_credentials"
        assert all("set-cookie" not in response.headers for response in responses)

    def test_failed_login_is_counted_although_the_request_fails(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)

        assert _login(auth_api_client, user.email, "wrong password!").status_code == 401

        assert _reload(db_session, user).failed_login_count == 1

    def test_lockout_refuses_even_the_right_password_until_it_passes(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        _lock_by_failures(auth_api_client, user.email)
        locked_until = _reload(db_session, user).locked_until
        assert locked_until is not None
        assert timedelta(minutes=14) < locked_until - datetime.now(UTC) <= timedelta(minutes=15)

        refused = _login(auth_api_client, user.email)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_credentials"

        db_session.execute(
            update(User).where(User.id == user.id).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        assert _login(auth_api_client, user.email).status_code == 200
        user = _reload(db_session, user)
        assert user.failed_login_count == 0
        assert user.locked_until is None

    def test_success_resets_the_failure_count(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        for _ in range(FAILURES_PER_ADDRESS - 1):
            _login(auth_api_client, user.email, "wrong password!")
        assert _reload(db_session, user).failed_login_count == FAILURES_PER_ADDRESS - 1

        assert _login(auth_api_client, user.email).status_code == 200
        assert _reload(db_session, user).failed_login_count == 0
        assert _login(auth_api_client, user.email, "wrong password!").status_code == 401
        assert _reload(db_session, user).locked_until is None

    def test_logs_outcomes_with_user_id_and_no_secrets(
        self, auth_api_client: TestClient, db_session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        user = create_user_with_password(db_session)
        caplog.set_level(logging.INFO, logger="src.auth")

        wrong = "wrong password!"
        _lock_by_failures(auth_api_client, user.email)
        _login(auth_api_client, "nobody@example.com", wrong)
        db_session.execute(update(User).where(User.id == user.id).values(locked_until=None))
        tokens = _login(auth_api_client, user.email).json()
        auth_api_client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

        records = [record for record in caplog.records if record.name == "src.auth"]
        messages = [record.getMessage() for record in records]
        assert "login failed" in messages
        assert "account locked after repeated failed logins" in messages
        assert "login succeeded" in messages
        assert {getattr(record, "user_id", "missing") for record in records} == {str(user.id), None}
        rendered = " ".join(f"{record.getMessage()} {vars(record)}" for record in records)
        for secret in (PASSWORD, wrong, tokens["access_token"], tokens["refresh_token"], user.email):
            assert secret not in rendered


class TestSignInThrottle:
    def test_brute_force_from_one_address_is_throttled_and_does_not_lock_out_another_address(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        attacker = _from(auth_api_client, "203.0.113.66")

        answers = [_login(attacker, user.email, f"guess number {n}!").status_code for n in range(30)]

        assert answers == [401] * FAILURES_PER_ADDRESS + [429] * (30 - FAILURES_PER_ADDRESS)
        refused = _login(attacker, user.email)  # the right password too: the address is throttled, not the account
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "rate_limited"
        assert "failed sign-ins" in body["detail"]
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 15 * 60
        assert datetime.fromisoformat(body["retry_at"]) > datetime.now(UTC)
        user = _reload(db_session, user)
        assert user.failed_login_count == FAILURES_PER_ADDRESS  # the refused attempts counted nothing
        assert user.locked_until is None
        owner = _from(auth_api_client, "198.51.100.23")
        assert _login(owner, user.email).status_code == 200

    def test_x_forwarded_for_does_not_make_a_new_address(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)

        answers = [
            auth_api_client.post(
                "/auth/token",
                data={"username": user.email, "password": "wrong password!"},
                headers={"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}"},
            ).status_code
            for n in range(FAILURES_PER_ADDRESS + 1)
        ]

        assert answers == [401] * FAILURES_PER_ADDRESS + [429]

    def test_successful_sign_ins_count_as_attempts(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        allowed = SIGN_IN_ATTEMPTS_PER_ADDRESS.windows[0].amount
        auth_api_client.cookies.clear()

        answers = [_login(auth_api_client, user.email).status_code for _ in range(allowed + 1)]

        assert answers == [200] * allowed + [429]


@pytest.fixture
def standard_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 with the production parameters (the suite runs with cheap ones, which would hide the difference)."""
    monkeypatch.setattr(settings, "password_hashing", "standard")
    passwords._password_hash.cache_clear()
    try:
        yield
    finally:
        passwords._password_hash.cache_clear()


class TestRegistrationTiming:
    def test_a_taken_address_takes_as_long_as_a_new_one(
        self, auth_api_client: TestClient, standard_hashing: None
    ) -> None:
        """Medians of seven registrations each, every one from its own client address (the per-address limit
        is not what is measured). Before the fix a taken address answered some 40 times faster."""
        first = _from(auth_api_client, "192.0.2.200").post(
            "/auth/register", json={"email": "taken@example.com", "password": PASSWORD}
        )
        assert first.status_code == 201
        new_times: list[float] = []
        taken_times: list[float] = []
        for n in range(1, 8):
            for email, times, expected, address in (
                (f"new{n}@example.com", new_times, 201, f"198.51.100.{n}"),
                ("taken@example.com", taken_times, 409, f"203.0.113.{n}"),
            ):
                client = _from(auth_api_client, address)
                started = time.perf_counter()
                response = client.post("/auth/register", json={"email": email, "password": PASSWORD})
                times.append(time.perf_counter() - started)
                assert response.status_code == expected

        new, taken = statistics.median(new_times), statistics.median(taken_times)
        print(f"registration medians: new {new * 1000:.1f} ms, taken {taken * 1000:.1f} ms, ratio {taken / new:.2f}")
        assert taken >= 0.5 * new


class TestRefresh:
    def test_with_the_cookie(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        first = _login(auth_api_client, user.email).json()

        response = auth_api_client.post("/auth/refresh")

        assert response.status_code == 200
        body = response.json()
        assert body["refresh_token"] != first["refresh_token"]
        assert _refresh_cookie(response).value == body["refresh_token"]
        me = auth_api_client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["id"] == str(user.id)

    def test_with_a_json_body(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        first = _login(auth_api_client, user.email).json()
        auth_api_client.cookies.clear()

        response = auth_api_client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})

        assert response.status_code == 200
        assert response.json()["refresh_token"] != first["refresh_token"]

    def test_the_body_wins_over_the_cookie(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        _login(auth_api_client, user.email)  # sets the cookie

        response = auth_api_client.post("/auth/refresh", json={"refresh_token": "not-a-token"})

        assert response.status_code == 401

    def test_rotation_spends_the_old_token_and_keeps_the_family(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        old = _login(auth_api_client, user.email).json()["refresh_token"]

        new = auth_api_client.post("/auth/refresh", json={"refresh_token": old}).json()["refresh_token"]

        old_row, new_row = _stored(db_session, old), _stored(db_session, new)
        assert old_row.rotated_at is not None
        assert new_row.rotated_at is None
        assert new_row.revoked_at is None
        assert new_row.family_id == old_row.family_id
        assert new_row.user_id == user.id
        stored_values = set(db_session.scalars(select(RefreshToken.token_hash).where(RefreshToken.user_id == user.id)))
        assert stored_values.isdisjoint({old, new})
        assert auth_api_client.post("/auth/refresh", json={"refresh_token": new}).status_code == 200

    def test_reuse_of_a_rotated_token_revokes_the_whole_family(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        auth_api_client.cookies.clear()
        stolen = _login(auth_api_client, user.email).json()["refresh_token"]
        other_device = _login(auth_api_client, user.email).json()["refresh_token"]
        newest = auth_api_client.post("/auth/refresh", json={"refresh_token": stolen}).json()["refresh_token"]

        reuse = auth_api_client.post("/auth/refresh", json={"refresh_token": stolen})

        assert reuse.status_code == 401
        assert reuse.json()["code"] == "invalid_refresh_token"
        newest_attempt = auth_api_client.post("/auth/refresh", json={"refresh_token": newest})
        assert newest_attempt.status_code == 401
        assert newest_attempt.json()["code"] == "invalid_refresh_token"
        family = db_session.scalars(
            select(RefreshToken)
            .where(RefreshToken.family_id == _stored(db_session, stolen).family_id)
            .execution_options(populate_existing=True)
        ).all()
        assert len(family) == 2
        assert all(row.revoked_at is not None for row in family)
        # Another sign-in's family is not touched.
        assert auth_api_client.post("/auth/refresh", json={"refresh_token": other_device}).status_code == 200

    def test_expired_token_is_401(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = _login(auth_api_client, user.email).json()["refresh_token"]
        db_session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hash_refresh_token(token))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

        response = auth_api_client.post("/auth/refresh", json={"refresh_token": token})

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_refresh_token"

    @pytest.mark.parametrize("body", [{"refresh_token": "never-issued"}, None])
    def test_unknown_or_missing_token_is_401(self, auth_api_client: TestClient, body: dict[str, str] | None) -> None:
        response = auth_api_client.post("/auth/refresh", json=body)

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_refresh_token"
        assert response.headers["www-authenticate"] == "Bearer"

    def test_a_refresh_token_is_not_an_access_token(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = _login(auth_api_client, user.email).json()["refresh_token"]

        response = auth_api_client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


class TestLogout:
    def test_with_the_cookie_revokes_the_family_and_clears_the_cookie(
        self, auth_api_client: TestClient, db_session: Session
    ) -> None:
        user = create_user_with_password(db_session)
        first = _login(auth_api_client, user.email).json()["refresh_token"]
        rotated = auth_api_client.post("/auth/refresh").json()["refresh_token"]

        response = auth_api_client.post("/auth/logout")

        assert response.status_code == 204
        assert response.content == b""
        cookie = _refresh_cookie(response)
        assert cookie.value == ""
        assert cookie["path"] == "/auth"
        assert int(cookie["max-age"]) == 0
        assert REFRESH_COOKIE_NAME not in auth_api_client.cookies
        for token in (first, rotated):
            assert _stored(db_session, token).revoked_at is not None
        assert auth_api_client.post("/auth/refresh", json={"refresh_token": rotated}).status_code == 401

    def test_with_a_json_body(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = _login(auth_api_client, user.email).json()["refresh_token"]
        auth_api_client.cookies.clear()

        response = auth_api_client.post("/auth/logout", json={"refresh_token": token})

        assert response.status_code == 204
        assert auth_api_client.post("/auth/refresh", json={"refresh_token": token}).status_code == 401

    @pytest.mark.parametrize("body", [{"refresh_token": "never-issued"}, None])
    def test_is_idempotent(self, auth_api_client: TestClient, body: dict[str, str] | None) -> None:
        response = auth_api_client.post("/auth/logout", json=body)

        assert response.status_code == 204


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
        "type": "access",
    }
    return claims | overrides


class TestCurrentUser:
    """`CurrentUser`, through `GET /auth/me`: only a valid access token of an existing user gets in."""

    def _me(self, client: TestClient, token: str) -> httpx.Response:
        return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    def _assert_refused(self, response: httpx.Response) -> None:
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.headers["www-authenticate"] == "Bearer"

    def test_a_valid_token_gets_in(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = jwt.encode(_claims(user), settings.get_jwt_secret(), algorithm="HS256")

        assert self._me(auth_api_client, token).status_code == 200
        assert auth_api_client.get("/auth/me", headers=auth_headers(user)).json()["id"] == str(user.id)

    def test_no_token(self, auth_api_client: TestClient) -> None:
        self._assert_refused(auth_api_client.get("/auth/me"))

    def test_alg_none(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user))}."

        self._assert_refused(self._me(auth_api_client, unsigned))

    def test_signed_with_another_key(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        forged = jwt.encode(_claims(user), "another-key-of-the-same-length-" * 2, algorithm="HS256")

        self._assert_refused(self._me(auth_api_client, forged))

    def test_signed_with_another_algorithm(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = jwt.encode(_claims(user), settings.get_jwt_secret(), algorithm="HS512")

        self._assert_refused(self._me(auth_api_client, token))

    def test_expired(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = create_access_token(user.id, now=datetime.now(UTC) - timedelta(minutes=16))

        response = self._me(auth_api_client, token)

        self._assert_refused(response)
        assert "expired" in response.json()["detail"]

    def test_a_token_of_another_type(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        token = jwt.encode(_claims(user, type="refresh"), settings.get_jwt_secret(), algorithm="HS256")

        self._assert_refused(self._me(auth_api_client, token))

    @pytest.mark.parametrize("missing", ["sub", "exp", "iat", "type"])
    def test_a_claim_missing(self, auth_api_client: TestClient, db_session: Session, missing: str) -> None:
        user = create_user_with_password(db_session)
        claims = _claims(user)
        del claims[missing]

        self._assert_refused(self._me(auth_api_client, jwt.encode(claims, settings.get_jwt_secret())))

    def test_a_deleted_user(self, auth_api_client: TestClient, db_session: Session) -> None:
        user = create_user_with_password(db_session)
        headers = auth_headers(user)
        db_session.delete(user)
        db_session.flush()

        self._assert_refused(auth_api_client.get("/auth/me", headers=headers))

    def test_garbage(self, auth_api_client: TestClient) -> None:
        self._assert_refused(self._me(auth_api_client, "not.a.jwt"))


class TestOpenAPI:
    def test_operations_errors_and_security_scheme_are_documented(self, auth_api_client: TestClient) -> None:
        schema = auth_api_client.get("/openapi.json").json()
        paths = schema["paths"]

        operations = {path: next(iter(item.values()))["operationId"] for path, item in paths.items()}
        assert {path: op for path, op in operations.items() if path.startswith("/auth")} == {
            "/auth/register": "auth_register",
            "/auth/token": "auth_token",
            "/auth/refresh": "auth_refresh",
            "/auth/logout": "auth_logout",
            "/auth/me": "auth_me",
        }
        scheme = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]
        assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"
        assert paths["/auth/me"]["get"]["security"] == [{"OAuth2PasswordBearer": []}]
        assert "409" in paths["/auth/register"]["post"]["responses"]
        for path in ("/auth/token", "/auth/refresh", "/auth/me"):
            operation = next(iter(paths[path].values()))
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }
            assert operation["description"]
        assert "application/x-www-form-urlencoded" in paths["/auth/token"]["post"]["requestBody"]["content"]


class TestUnstorableInput:
    def test_nul_characters_are_refused_not_a_server_error(self, auth_api_client: TestClient) -> None:
        registered = auth_api_client.post("/auth/register", json={"email": "a\x00@b.co", "password": "x" * 12})
        assert registered.status_code == 422
        login = auth_api_client.post("/auth/token", data={"username": "a\x00@b.co", "password": "x" * 12})
        assert login.status_code == 401
        assert login.json()["code"] == "invalid_credentials"
