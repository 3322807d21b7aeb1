"""The Enable Banking sandbox for tests: one real server process per test run, reset before each test.

`make_key_pair` makes the application's RSA key pair (PEM files in a directory of the test run); the server gets
the public key (SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE) and the application id, a client the private key.
`EnableBankingSandboxControl` wraps the `/_sandbox/` controls, so that a test sets its scene in a line:
`eb.link(customer="carol")`, `eb.approve(authorization_id)`, `eb.advance_clock(days=2)`, `eb.set_faults(...)`, …
and `eb.token()` / `eb.headers()` sign a JWT for tests that call the official API directly.
"""

import os
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from src.providers.enablebanking.auth import JwtSigner
from src.providers.enablebanking.client import EnableBankingClient
from tests.harness.sandbox import ControlSurface, SubprocessServer, free_port

APPLICATION_ID = "5b1b1b0e-6c1e-4b5f-9a57-0f1a1e2b3c4d"
ISSUER = "enablebanking.com"
AUDIENCE = "api.enablebanking.com"


@dataclass(frozen=True)
class KeyPair:
    private_key_file: Path  # PEM, PKCS#8, unencrypted: what ENABLEBANKING_PRIVATE_KEY_FILE points at
    public_key_file: Path  # PEM SubjectPublicKeyInfo: what SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE points at

    @property
    def private_pem(self) -> bytes:
        return self.private_key_file.read_bytes()


def make_key_pair(directory: Path, name: str = "application") -> KeyPair:
    """A fresh 2048-bit RSA key pair written to `directory` as `<name>.pem` and `<name>.pub.pem`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file, public_file = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    private_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public_file.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return KeyPair(private_file, public_file)


def make_jwt(
    private_pem: bytes,
    *,
    kid: str = APPLICATION_ID,
    iss: str = ISSUER,
    aud: str = AUDIENCE,
    lifetime: int = 3600,
    issued_at: float | None = None,
    **claims: Any,
) -> str:
    """A JWT as Enable Banking wants it (RS256, `kid` = application id); every part can be made wrong on purpose."""
    issued = int(time.time() if issued_at is None else issued_at)
    body = {"iss": iss, "aud": aud, "iat": issued, "exp": issued + lifetime, **claims}
    return jwt.encode(body, private_pem, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


@cache
def _throwaway_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def unreachable_enablebanking_client() -> EnableBankingClient:
    """An Enable Banking client whose every call fails at once (a refused loopback port, no retry): for the API
    tests about GoCardless, so that listing a country's banks never waits on an Enable Banking that is not there
    (the listing then leaves Enable Banking's banks out, as it does in production when Enable Banking is down)."""
    return EnableBankingClient(
        base_url=f"http://127.0.0.1:{free_port()}",
        signer=JwtSigner(application_id=APPLICATION_ID, private_key=_throwaway_key()),
        max_attempts=1,
    )


def sandbox_enablebanking_client(server: "EnableBankingSandboxServer") -> EnableBankingClient:
    """A client of the test's Enable Banking sandbox, signing as the sandbox's application; no retry waits."""
    return EnableBankingClient.from_key_file(
        application_id=APPLICATION_ID,
        private_key_file=server.keys.private_key_file,
        base_url=server.base_url,
        sleep=lambda _: None,
    )


def enablebanking_sandbox_argv(port: int, state_file: Path | None = None) -> list[str]:
    """The Enable Banking sandbox on loopback, its sessions kept in `state_file` when given."""
    return [sys.executable, "-m", "src.cli", "sandbox", "--provider", "enablebanking", "--port", str(port)] + (
        ["--state-file", str(state_file)] if state_file else []
    )


class EnableBankingSandboxServer(SubprocessServer):
    """A `finsync sandbox --provider enablebanking` subprocess on a free loopback port."""

    application_id = APPLICATION_ID

    def __init__(
        self,
        log_path: Path,
        keys: KeyPair,
        *,
        redirect_urls: str | None = None,
        state_file: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.keys = keys
        port = port or free_port()
        env = {
            **os.environ,
            "SANDBOX_ENABLEBANKING_APPLICATION_ID": APPLICATION_ID,
            "SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE": str(keys.public_key_file),
        }
        env.pop("SANDBOX_ENABLEBANKING_REDIRECT_URLS", None)
        env.pop("SANDBOX_ENABLEBANKING_STATE_FILE", None)
        if redirect_urls is not None:
            env["SANDBOX_ENABLEBANKING_REDIRECT_URLS"] = redirect_urls
        super().__init__(
            enablebanking_sandbox_argv(port, state_file),
            env,
            log_path,
            port=port,
            what="the Enable Banking sandbox",
        )


class EnableBankingSandboxControl(ControlSurface):
    """The test's handle on the sandbox: its address, the application's id and keys, and its `/_sandbox/` controls."""

    application_id = APPLICATION_ID

    def __init__(self, base_url: str, keys: KeyPair) -> None:
        super().__init__(base_url)
        self.keys = keys
        self.private_key_file = keys.private_key_file

    # -- signing ----------------------------------------------------------------------------------------------
    def token(self, **overrides: Any) -> str:
        """A valid JWT for the sandbox's application (kid, iss, aud, lifetime, issued_at can be overridden)."""
        return make_jwt(self.keys.private_pem, **overrides)

    def headers(self, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**overrides)}"}

    def api(self) -> httpx.Client:
        """An httpx client on the official API that signs every request with a fresh valid JWT."""
        return httpx.Client(base_url=self.base_url, timeout=30, headers=self.headers())

    # -- controls ---------------------------------------------------------------------------------------------
    def approve(self, authorization_id: str, *, customer: str = "alice") -> str:
        """Approve a `POST /auth` as `customer` (alice 2 accounts, bob 1, carol 3, nobody 0); the redirect URL
        with `code` and `state`, as the browser would be sent to."""
        return str(
            self._post(f"/_sandbox/authorizations/{authorization_id}/approve", {"customer": customer})["redirect"]
        )

    def deny(self, authorization_id: str) -> str:
        """Deny it; the redirect URL with `state`, `error` and `error_description`."""
        return str(self._post(f"/_sandbox/authorizations/{authorization_id}/deny")["redirect"])

    def link(self, **options: Any) -> dict[str, Any]:
        """An authorized session in one call: aspsp={name, country}, customer, valid_days. Returns session_id,
        authorization_id, accounts (uids), aspsp, valid_until."""
        return super().link(**options)

    def expire_session(self, session_id: str) -> None:
        self._post(f"/_sandbox/sessions/{session_id}/expire")

    def revoke_session(self, session_id: str) -> None:
        self._post(f"/_sandbox/sessions/{session_id}/revoke")

    def set_application_active(self, active: bool) -> None:
        self._post("/_sandbox/application", {"active": active})

    def set_faults(self, **faults: Any) -> None:
        """path_prefix (default "/accounts/"), methods, error_status (400 ASPSP_ERROR, 408 ASPSP_TIMEOUT, 429, 500,
        502, 503, 504), error_count (the next N matching calls fail), error_rate, latency_ms."""
        self._post("/_sandbox/faults", faults)

    def set_aspsp(self, name: str, country: str, **switches: Any) -> dict[str, Any]:
        """Change a bank's behaviour: ignores_dates, session_transaction_ids, history_days, refuses_older_history,
        empty_first_page, signed_debits, required_psu_headers, maximum_consent_validity."""
        result: dict[str, Any] = self._post("/_sandbox/aspsps", {"name": name, "country": country, **switches})
        return result

    def set_limits(self, *, account_daily: int) -> None:
        self._post("/_sandbox/limits", {"account_daily": account_daily})
