"""Token primitives, no database: JWT access tokens and opaque refresh tokens.

Access tokens are HS256 JWTs of short life, checked without a database round trip. Refresh tokens are random
256-bit strings; only their SHA-256 is stored, so a leaked table cannot be replayed (the tokens carry enough
entropy that a fast hash is sufficient, unlike passwords).
"""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from src.auth.exceptions import NotAuthenticatedError
from src.settings import settings

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - the `type` claim, not a secret
_ALGORITHM = "HS256"


def create_access_token(user_id: uuid.UUID, *, now: datetime | None = None) -> str:
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": issued_at,
        "exp": issued_at + ACCESS_TOKEN_LIFETIME,
        "type": ACCESS_TOKEN_TYPE,
    }
    return jwt.encode(claims, settings.get_jwt_secret(), algorithm=_ALGORITHM)


def decode_access_token(token: str) -> uuid.UUID:
    """The user id an access token was issued to.

    The algorithm list is explicit: the token's own header never chooses it, so `alg: none` and tokens signed with
    any other algorithm or key are refused. Raises NotAuthenticatedError for anything but a valid access token.
    """
    try:
        claims = jwt.decode(
            token,
            settings.get_jwt_secret(),
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "type"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticatedError("The access token has expired; refresh it or sign in again.") from exc
    except jwt.InvalidTokenError as exc:
        raise NotAuthenticatedError("The access token is not valid.") from exc
    if claims.get("type") != ACCESS_TOKEN_TYPE:
        raise NotAuthenticatedError("The access token is not valid.")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise NotAuthenticatedError("The access token is not valid.") from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
