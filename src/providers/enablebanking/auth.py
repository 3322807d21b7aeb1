"""Enable Banking's authentication: every request carries a JWT the application signs with its own private key.

As the API's security scheme says: RS256 only, header `kid` = the application id, claims `iss` "enablebanking.com",
`aud` "api.enablebanking.com", `iat` and `exp`; Enable Banking refuses a token living longer than 24 h. finsync
signs tokens for one hour and keeps each until a minute before it expires, so a sync signs a handful a day, never
one per request. The private key is held as a key object, never as text: it appears in no log line, error or repr.
"""

import threading
import time
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from src.providers.enablebanking.errors import MisconfiguredError

ISSUER = "enablebanking.com"
AUDIENCE = "api.enablebanking.com"
ALGORITHM = "RS256"
MAX_LIFETIME_SECONDS = 3600
RENEW_BEFORE_SECONDS = 60


def load_private_key(path: Path) -> RSAPrivateKey:
    """The application's RSA private key from a PEM file. A missing, unreadable or non-RSA file is one clear line
    (naming the file, never its content)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise MisconfiguredError(f"cannot read the Enable Banking private key file {path}: {exc.strerror}") from None
    return parse_private_key(pem, source=str(path))


def parse_private_key(pem: bytes, *, source: str = "the Enable Banking private key") -> RSAPrivateKey:
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise MisconfiguredError(f"{source} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise MisconfiguredError(f"{source} is not an RSA key (Enable Banking signs with RS256 only)")
    return key


class JwtSigner:
    """Signs and caches the bearer token. `clock` (epoch seconds) is injectable for tests; thread-safe, because
    one client serves the extraction's parallel reads."""

    def __init__(
        self,
        *,
        application_id: str,
        private_key: RSAPrivateKey,
        lifetime_seconds: int = MAX_LIFETIME_SECONDS,
        renew_before_seconds: int = RENEW_BEFORE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not application_id.strip():
            raise MisconfiguredError("the Enable Banking application id is empty")
        if not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
            raise ValueError(f"a token lives between 1 and {MAX_LIFETIME_SECONDS} seconds")
        if not 0 <= renew_before_seconds < lifetime_seconds:
            raise ValueError("a token is renewed before it expires, not before it is made")
        self.application_id = application_id
        self._key = private_key
        self._lifetime = lifetime_seconds
        self._renew_before = renew_before_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0

    def __repr__(self) -> str:
        return f"JwtSigner(application_id={self.application_id!r})"

    def token(self) -> str:
        """A valid token: the cached one until `renew_before_seconds` before it expires, then a new one."""
        with self._lock:
            now = int(self._clock())
            if self._token is None or now >= self._expires_at - self._renew_before:
                self._token, self._expires_at = self._sign(now), now + self._lifetime
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _sign(self, now: int) -> str:
        claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + self._lifetime}
        headers = {"typ": "JWT", "kid": self.application_id}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers=headers)
