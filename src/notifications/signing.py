"""How a webhook proves it comes from finsync, and how a receiver checks it.

Every delivery carries `Finsync-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is
HMAC-SHA256(key = the endpoint's signing secret, message = f"{t}.{body}") over the exact bytes of the body (UTF-8
JSON), plus `Finsync-Event-Id` (the id to de-duplicate on: the same in every retry) and `Finsync-Event-Type`.

A receiver verifies it so (this is `verify_signature`):
1. split the header at commas into `key=value` pairs; take `t` and every `v1` (more than one may come);
2. compute HMAC-SHA256(secret, f"{t}." + raw body) in hex, on the body exactly as received (before parsing JSON);
3. accept when it equals one of the `v1` values (compared in constant time) and `t` is within the tolerance of
   its own clock (five minutes is usual): a recorded request replayed later is refused;
4. then de-duplicate on `Finsync-Event-Id` (a retry after a lost answer brings the same event again).

The secret is generated here (`whsec_` + 32 random bytes, URL-safe), shown to the user once at creation and kept
sealed in the database (src/db/encryption.py).
"""

import hashlib
import hmac
import secrets
import time
from datetime import datetime

SIGNATURE_HEADER = "Finsync-Signature"
EVENT_ID_HEADER = "Finsync-Event-Id"
EVENT_TYPE_HEADER = "Finsync-Event-Type"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


def new_signing_secret() -> str:
    """A fresh endpoint secret (shown once, stored sealed)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, at: datetime) -> str:
    """The `Finsync-Signature` value for `body` sent at `at`."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when `header` (a `Finsync-Signature` value) signs `body` with `secret` and its time is within
    `tolerance` seconds of `now` (the receiver's clock, Unix seconds; default the current time)."""
    raw = body.encode() if isinstance(body, str) else body
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
