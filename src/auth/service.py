"""Registration, sign-in with throttling and lockout, and the refresh-token life cycle.

Services only flush: the request's session dependency commits. The one exception to "a refused request leaves no
trace" is handled there too: errors deriving from `AuthFailureWithEffects` keep what was written before them.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from src.auth import passwords, tokens
from src.auth.emails import normalise_email
from src.auth.exceptions import EmailTakenError, InvalidCredentialsError, InvalidRefreshTokenError
from src.auth.throttle import LOCK_DURATION, SignInThrottle
from src.models import RefreshToken, User

log = logging.getLogger("src.auth")

_EMAIL_UNIQUE_INDEX = "uq_users_email_lower"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str


def _now() -> datetime:
    return datetime.now(UTC)


def _same_email(address: str) -> ColumnElement[bool]:
    """Rows holding this address, compared as the unique index `uq_users_email_lower` compares (lower()): in its
    normal form, and as typed, which finds rows stored before addresses were normalised."""
    forms = {normalise_email(address), address.strip()}
    return func.lower(User.email).in_([func.lower(form) for form in sorted(forms)])


def _exactly(address: str) -> ColumnElement[bool]:
    return func.lower(User.email) == func.lower(address.strip())


class AuthService:
    def register(self, session: Session, *, email: str, password: str) -> User:
        """A new user with the address in its normal form; EmailTakenError when any form of it is taken.

        The password is hashed before the address is looked up, so that a taken address costs the same time as a
        new one and the answer's timing does not tell whether an account exists (the 409 says so, at the cost of a
        hash; registration is also limited per client address)."""
        password_hash = passwords.hash_password(password)
        if session.scalar(select(User.id).where(_same_email(email))) is not None:
            raise EmailTakenError()
        user = User(email=normalise_email(email), password_hash=password_hash)
        try:
            # A savepoint, so that losing a race to the same address leaves the session usable.
            with session.begin_nested():
                session.add(user)
        except IntegrityError as exc:
            if _EMAIL_UNIQUE_INDEX in str(exc.orig):
                raise EmailTakenError() from exc
            raise
        log.info("user registered", extra={"user_id": str(user.id)})
        return user

    def authenticate(self, session: Session, *, email: str, password: str, throttle: SignInThrottle) -> User:
        """The user whose e-mail and password these are, or InvalidCredentialsError (TooManyRequestsError when the
        client address has used up its attempts; see `src.auth.throttle`).

        Every path past the throttle verifies one Argon2 hash, so the time taken does not tell an unknown e-mail
        from a wrong password or a locked account. The row is locked for the check, so parallel guesses are counted
        one by one.
        """
        throttle.admit()
        # An address PostgreSQL cannot even hold (a NUL) is no user's: same answer, same time, no database error.
        user = (
            None
            if "\x00" in email
            else session.scalar(
                select(User)
                .where(_same_email(email))
                # Two rows can match only where one address was registered twice before normalisation: the one
                # stored exactly as typed is the one this person registered.
                .order_by(~_exactly(email))
                .limit(1)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        if user is None:
            passwords.spend_verify_time(password)
            throttle.failed(None)
            log.warning("login failed", extra={"user_id": None, "reason": "unknown_email"})
            raise InvalidCredentialsError()
        throttle.confirm()
        matches, updated_hash = passwords.verify_password(password, user.password_hash)
        now = _now()
        if user.locked_until is not None and user.locked_until > now:
            throttle.failed(None)  # the address's failure; the account is locked already
            log.warning("login refused: account locked", extra={"user_id": str(user.id)})
            raise InvalidCredentialsError()
        if not matches:
            self._count_failure(session, user, now, throttle)
            raise InvalidCredentialsError()
        user.failed_login_count = 0
        user.locked_until = None
        if updated_hash is not None:
            user.password_hash = updated_hash
        session.flush()
        throttle.succeeded(user.id)
        if user.email != normalise_email(user.email):
            self._normalise_stored_email(session, user)
        log.info("login succeeded", extra={"user_id": str(user.id)})
        return user

    def _count_failure(self, session: Session, user: User, now: datetime, throttle: SignInThrottle) -> None:
        user.failed_login_count += 1
        if throttle.failed(user.id):
            # The counters restart, so the lock's end gives a fresh set of attempts rather than one.
            user.failed_login_count = 0
            user.locked_until = now + LOCK_DURATION
            throttle.locked(user.id)
            log.warning(
                "account locked after repeated failed logins",
                extra={"user_id": str(user.id), "locked_until": user.locked_until.isoformat()},
            )
        else:
            log.warning(
                "login failed",
                extra={"user_id": str(user.id), "reason": "wrong_password", "failures": user.failed_login_count},
            )
        session.flush()

    def _normalise_stored_email(self, session: Session, user: User) -> None:
        """An address stored before normalisation takes its normal form at the account's next sign-in, unless
        another account holds that form already (one address registered twice back then: left as it is, logged)."""
        try:
            with session.begin_nested():
                user.email = normalise_email(user.email)
        except IntegrityError:
            log.warning(
                "stored e-mail address left as it is: another account holds its normal form",
                extra={"user_id": str(user.id)},
            )

    def login(self, session: Session, *, email: str, password: str, throttle: SignInThrottle) -> IssuedTokens:
        user = self.authenticate(session, email=email, password=password, throttle=throttle)
        return self._issue(session, user_id=user.id, family_id=uuid.uuid4(), now=_now())

    def refresh(self, session: Session, *, refresh_token: str | None) -> IssuedTokens:
        """Rotate a refresh token: the presented one is spent, a new one of the same family is issued.

        Presenting a spent token again means it was copied (or the client lost a response): the whole family is
        revoked, so whoever holds its newest token is signed out too.
        """
        if not refresh_token:
            raise InvalidRefreshTokenError("No refresh token: send the cookie or a JSON body with `refresh_token`.")
        stored = self._find(session, refresh_token, for_update=True)
        now = _now()
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise InvalidRefreshTokenError()
        if stored.rotated_at is not None:
            self._revoke_family(session, stored.family_id, now)
            log.warning(
                "refresh token reused; family revoked",
                extra={"user_id": str(stored.user_id), "family_id": str(stored.family_id)},
            )
            raise InvalidRefreshTokenError()
        stored.rotated_at = now
        return self._issue(session, user_id=stored.user_id, family_id=stored.family_id, now=now)

    def logout(self, session: Session, *, refresh_token: str | None) -> None:
        """Revoke the presented token's family. Idempotent: an unknown or missing token is nothing to undo."""
        if not refresh_token:
            return
        stored = self._find(session, refresh_token, for_update=False)
        if stored is None:
            return
        self._revoke_family(session, stored.family_id, _now())
        log.info("logged out", extra={"user_id": str(stored.user_id), "family_id": str(stored.family_id)})

    def get_user(self, session: Session, user_id: uuid.UUID) -> User | None:
        return session.get(User, user_id)

    def _issue(self, session: Session, *, user_id: uuid.UUID, family_id: uuid.UUID, now: datetime) -> IssuedTokens:
        refresh_token = tokens.new_refresh_token()
        session.add(
            RefreshToken(
                user_id=user_id,
                token_hash=tokens.hash_refresh_token(refresh_token),
                family_id=family_id,
                expires_at=now + tokens.REFRESH_TOKEN_LIFETIME,
            )
        )
        session.flush()
        return IssuedTokens(
            access_token=tokens.create_access_token(user_id, now=now),
            expires_in=int(tokens.ACCESS_TOKEN_LIFETIME.total_seconds()),
            refresh_token=refresh_token,
        )

    def _find(self, session: Session, refresh_token: str, *, for_update: bool) -> RefreshToken | None:
        statement = select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token))
        if for_update:
            # Two refreshes racing with one token: the second waits, then sees it rotated (and revokes the family).
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return session.scalar(statement)

    def _revoke_family(self, session: Session, family_id: uuid.UUID, now: datetime) -> None:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.flush()


auth = AuthService()
