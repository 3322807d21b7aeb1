"""Checking the `Authorization: Bearer <JWT>` of every official call, as Enable Banking documents it.

The header must say `alg` RS256 (the only algorithm supported), `kid` the application id (and `typ` JWT when
present); the body `iss` "enablebanking.com", `aud` "api.enablebanking.com", `iat` and `exp`, with a lifetime of at
most 86 400 s ("Tokens created with longer TTL are not accepted by the API"). The signature is checked against the
application's public key. Times are checked against the real clock, not the sandbox's: the client signs with the
real time, and a test that moves the sandbox's clock on must not see its tokens expire.
"""

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

ISSUER = "enablebanking.com"
AUDIENCE = "api.enablebanking.com"
MAX_LIFETIME_SECONDS = 86_400
LEEWAY_SECONDS = 30  # clock skew between the client and the API


class TokenRefused(Exception):
    """The reason a JWT is refused, in words a developer can act on."""


def verify(header_value: str | None, application_id: str, public_key: RSAPublicKey) -> None:
    """Raise TokenRefused unless `header_value` is "Bearer <a JWT this application signed, valid now>"."""
    scheme, _, token = (header_value or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRefused("Authorization must be 'Bearer <JWT>'")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenRefused(f"The token is not a JWT: {exc}") from exc
    if header.get("alg") != "RS256":
        raise TokenRefused(f"Unsupported JWT algorithm {header.get('alg')!r}: only RS256 is supported")
    if header.get("typ", "JWT") != "JWT":
        raise TokenRefused(f"Unsupported JWT type {header.get('typ')!r}")
    if header.get("kid") != application_id:
        raise TokenRefused(f"Unknown application (kid {header.get('kid')!r})")
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "iat", "exp"]},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRefused("The JWT signature does not match the application's public key") from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenRefused("The JWT has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenRefused(f"The JWT audience must be {AUDIENCE!r}") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenRefused(f"The JWT issuer must be {ISSUER!r}") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenRefused("The JWT was issued in the future (iat)") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(f"The JWT lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRefused(f"The JWT is not valid: {exc}") from exc
    issued, expires = claims["iat"], claims["exp"]
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise TokenRefused("iat and exp must be numbers of seconds")
    if expires - issued > MAX_LIFETIME_SECONDS:
        raise TokenRefused(f"The JWT lives {int(expires - issued)} s: at most {MAX_LIFETIME_SECONDS} s is accepted")
    if issued > time.time() + LEEWAY_SECONDS:
        raise TokenRefused("The JWT was issued in the future (iat)")
