"""The signature recipe, as a receiver applies it (src/notifications/signing.py's docstring)."""

import hashlib
import hmac
from datetime import UTC, datetime

from src.notifications import new_signing_secret, verify_signature
from src.notifications.signing import signature_header

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
BODY = b'{"id":"e1","type":"sync.completed","created_at":"2026-12-01T08:00:00Z","data":{}}'


class TestSignature:
    def test_is_the_documented_hmac_over_timestamp_and_body(self) -> None:
        secret = new_signing_secret()
        header = signature_header(secret, BODY, AT)
        timestamp = int(AT.timestamp())
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert header == f"t={timestamp},v1={expected}"

    def test_verifies_with_the_secret_and_fails_for_a_tampered_body_or_another_secret(self) -> None:
        secret = new_signing_secret()
        header = signature_header(secret, BODY, AT)
        now = AT.timestamp() + 10
        assert verify_signature(secret, header, BODY, now=now)
        assert verify_signature(secret, header, BODY.decode(), now=now)
        assert not verify_signature(secret, header, BODY.replace(b"sync.completed", b"sync.failed"), now=now)
        assert not verify_signature(new_signing_secret(), header, BODY, now=now)

    def test_a_replay_outside_the_tolerance_fails(self) -> None:
        secret = new_signing_secret()
        header = signature_header(secret, BODY, AT)
        assert verify_signature(secret, header, BODY, 300, now=AT.timestamp() + 300)
        assert not verify_signature(secret, header, BODY, 300, now=AT.timestamp() + 301)

    def test_a_header_with_another_timestamp_or_missing_parts_fails(self) -> None:
        secret = new_signing_secret()
        header = signature_header(secret, BODY, AT)
        signature = header.split(",v1=")[1]
        now = AT.timestamp()
        assert not verify_signature(secret, f"t={int(now) + 1},v1={signature}", BODY, now=now)
        assert not verify_signature(secret, f"v1={signature}", BODY, now=now)
        assert not verify_signature(secret, f"t={int(now)}", BODY, now=now)
        assert not verify_signature(secret, "t=soon,v1=abc", BODY, now=now)
        assert not verify_signature(secret, "", BODY, now=now)

    def test_any_of_several_signatures_may_match(self) -> None:
        secret = new_signing_secret()
        header = signature_header(secret, BODY, AT)
        timestamp, signature = header.split(",v1=")
        assert verify_signature(secret, f"{timestamp},v1={'0' * 64},v1={signature}", BODY, now=AT.timestamp())

    def test_secrets_are_random_and_prefixed(self) -> None:
        first, second = new_signing_secret(), new_signing_secret()
        assert first != second
        assert first.startswith("whsec_")
        assert len(first) > 40
