"""Request and response models of the auth endpoints.

Services answer domain objects (the User row, the issued tokens); the read schemas build themselves from them here
(`UserRead.model_validate`, `TokenResponse.from_issued`), and endpoints call that.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from src.auth.emails import normalise_email
from src.kit.schemas import WITHOUT_NUL, Schema

if TYPE_CHECKING:
    from src.auth.service import IssuedTokens

MIN_PASSWORD_LENGTH = 10
# Argon2 takes any length, but an unbounded password is an unbounded amount of hashing work per request.
MAX_PASSWORD_LENGTH = 1024


def _normalised(value: object) -> object:
    return normalise_email(value) if isinstance(value, str) else value


# Deliberately loose (something@domain.tld, no spaces): the only real check of an address is mail arriving. The
# checks apply to the normal form, which is what is stored (NFKC can lengthen an address, or make a space of a
# character).
EmailAddress = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
    ),
    BeforeValidator(_normalised),
    Field(examples=["ada@example.com"]),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        pattern=WITHOUT_NUL,
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    ),
]


class UserCreate(Schema):
    email: EmailAddress
    password: Password


class UserRead(Schema):
    id: uuid.UUID
    email: str
    created_at: datetime


class TokenResponse(Schema):
    """OAuth2 token response (RFC 6749 §5.1); the refresh token is also set as an HttpOnly cookie."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str

    @classmethod
    def from_issued(cls, issued: "IssuedTokens") -> "TokenResponse":
        return cls(access_token=issued.access_token, expires_in=issued.expires_in, refresh_token=issued.refresh_token)


class RefreshRequest(Schema):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512, pattern=WITHOUT_NUL)]
