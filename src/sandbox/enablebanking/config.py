"""The Enable Banking sandbox's own settings, read from its own variables (nothing from `src/settings.py`).

SANDBOX_ENABLEBANKING_APPLICATION_ID: the application id, which every JWT names as its `kid`.
SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE: the application's PEM public key or certificate, which verifies the JWTs.
SANDBOX_ENABLEBANKING_REDIRECT_URLS: comma-separated redirect URLs the application registered; unset, any loopback
URL is allowed (the sandbox stands in for a developer's own machine).
SANDBOX_ENABLEBANKING_STATE_FILE (or `--state-file`): keep sessions across restarts in this JSON file.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


class EnableBankingConfigError(Exception):
    """The sandbox cannot start: a variable is missing or the key file is unreadable. One line, no traceback."""


def load_public_key(path: Path) -> RSAPublicKey:
    """A PEM public key or a PEM certificate (Enable Banking accepts either when an application is registered)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnableBankingConfigError(f"cannot read the public key file {path}: {exc.strerror}") from exc
    key: object
    try:
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise EnableBankingConfigError(f"{path} holds no PEM public key or certificate") from exc
    if not isinstance(key, RSAPublicKey):
        raise EnableBankingConfigError(f"{path} is not an RSA key: Enable Banking signs with RS256 only")
    return key


@dataclass
class EnableBankingConfig:
    application_id: str
    public_key: RSAPublicKey
    redirect_urls: tuple[str, ...] | None = None  # None: any loopback URL
    public_url: str | None = None  # where the consent page is reached; default: the request's own host
    account_daily_limit: int = 4
    state_file: Path | None = None  # where sessions are kept across restarts (`make dev`)

    @classmethod
    def from_env(cls) -> "EnableBankingConfig":
        env = os.environ
        application_id = env.get("SANDBOX_ENABLEBANKING_APPLICATION_ID", "").strip()
        key_file = env.get("SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE", "").strip()
        if not application_id or not key_file:
            raise EnableBankingConfigError(
                "the Enable Banking sandbox needs SANDBOX_ENABLEBANKING_APPLICATION_ID and "
                "SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE (the application's PEM public key or certificate)"
            )
        urls = env.get("SANDBOX_ENABLEBANKING_REDIRECT_URLS")
        redirect_urls = tuple(url.strip() for url in urls.split(",") if url.strip()) if urls else None
        return cls(
            application_id=application_id,
            public_key=load_public_key(Path(key_file)),
            redirect_urls=redirect_urls or None,
            public_url=env.get("SANDBOX_ENABLEBANKING_PUBLIC_URL") or None,
            account_daily_limit=int(env.get("SANDBOX_ENABLEBANKING_ACCOUNT_DAILY_LIMIT", "4")),
            state_file=Path(env["SANDBOX_ENABLEBANKING_STATE_FILE"])
            if env.get("SANDBOX_ENABLEBANKING_STATE_FILE")
            else None,
        )
