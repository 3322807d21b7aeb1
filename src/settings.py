"""The one place configuration is read: environment variables (and `.env`), validated once at import.

Names are the ones in docs/ARCHITECTURE.md (Settings), without a prefix. Derived values (the GoCardless and Enable
Banking base URLs, the Dagster URL, the public URLs) are computed here so that callers never rebuild them. A database
is *not* required here: the first connection reports a missing `DATABASE_URL` (see `src.db.engine`), so importing
`defs` or the Dagster client works without one.
"""

import base64
import binascii
import contextlib
import os
import secrets
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

OFFICIAL_GOCARDLESS_BASE_URL = "https://bankaccountdata.gocardless.com"
OFFICIAL_ENABLEBANKING_BASE_URL = "https://api.enablebanking.com"
# The application id finsync and the Enable Banking sandbox agree on when no Enable Banking credentials are set (a
# public test value, like the GoCardless sandbox's credentials).
SANDBOX_ENABLEBANKING_APPLICATION_ID = "0f5e4c1a-8d3b-4a6e-9c2f-7b1d5e8a3c60"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}

Port = Annotated[int, Field(ge=1, le=65535)]


class Environment(StrEnum):
    development = "development"
    production = "production"


class ConfigurationError(Exception):
    """Configuration that cannot work; its message is one line a person can act on."""


def normalise_database_url(raw: str) -> URL:
    """Parse a PostgreSQL URL and point it at the psycopg 3 driver.

    Accepts `postgres://`, `postgresql://` and `postgresql+psycopg://`; anything else is a configuration error.
    """
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise ValueError("not a URL (expected postgresql://user:password@host:port/dbname)") from exc
    if url.drivername not in _POSTGRES_SCHEMES:
        raise ValueError(f"must be a postgresql:// URL (got {url.drivername}://); finsync runs on PostgreSQL only")
    if not url.database:
        raise ValueError("names no database (expected postgresql://user:password@host:port/dbname)")
    return url.set(drivername="postgresql+psycopg")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    finsync_env: Environment = Environment.development
    finsync_data_dir: Path = Path(".data")

    database_url: str | None = None
    test_database_url: str | None = None

    api_port: Port = 8000
    dagster_port: Port = 3001
    sandbox_port: Port = 8765
    enablebanking_sandbox_port: Port = 8766
    simplefin_sandbox_port: Port = 8767

    gocardless_secret_id: SecretStr | None = None
    gocardless_secret_key: SecretStr | None = None
    gocardless_base_url: str | None = None
    gocardless_countries: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["GB"])
    # The sandbox's credentials, used when no GoCardless credentials are set (the sandbox reads the same variables
    # itself; its defaults are these public test values).
    sandbox_secret_id: SecretStr = SecretStr("sandbox-secret-id")
    sandbox_secret_key: SecretStr = SecretStr("sandbox-secret-key")

    # Enable Banking: the application's id and the PEM file of its RSA private key (both or neither; the key is
    # checked readable here, so a wrong path is one line at start, not a failure at the first sync).
    enablebanking_application_id: str | None = None
    enablebanking_private_key_file: Path | None = None
    # Unset (blank): the real API with credentials, else the Enable Banking sandbox on ENABLEBANKING_SANDBOX_PORT.
    enablebanking_base_url: str = ""
    # Without credentials finsync talks to the Enable Banking sandbox as this application, signing with a key pair
    # made once into the data dir (`ensure_enablebanking_sandbox_keys`). An operator who runs the sandbox with a
    # key of their own sets its public key file (the variable the sandbox reads) and the matching private key (else
    # finsync looks for it where it would have made its own; nothing is made then).
    sandbox_enablebanking_application_id: str = SANDBOX_ENABLEBANKING_APPLICATION_ID
    sandbox_enablebanking_public_key_file: Path | None = None
    sandbox_enablebanking_private_key_file: Path | None = None

    dagster_url: str | None = None
    dagster_location_name: str | None = None
    # How long the API waits on Dagster for one answer (a launch's several GraphQL requests together): a request
    # never waits longer; a launch that ran out of time is retried, and adopted if it happened after all.
    dagster_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0

    public_base_url: str | None = None
    frontend_url: str | None = None

    jwt_secret: SecretStr | None = None
    # Fernet keys for provider secrets at rest (src/db/encryption.py), comma-separated: the first encrypts, every
    # one decrypts (rotation). Development: generated once into the data dir; production: required.
    finsync_secret_key: SecretStr | None = None
    # Set by `finsync dev` for the processes it starts: the page then offers the demo account it created. Off by
    # default, so a server deployed without FINSYNC_ENV never publishes the demo credentials.
    finsync_demo_account: bool = False
    # "fast": cheap Argon2 parameters so the test suite can hash many passwords; refused in production.
    password_hashing: Literal["standard", "fast"] = "standard"  # noqa: S105 - a mode, not a password

    # The background sync (src/orchestration/background.py): on by default. Off only where something else decides
    # when connections sync (the live-Dagster tests, whose runs each test counts).
    background_sync: bool = True
    sync_overlap_days: Annotated[int, Field(ge=0, le=730)] = 10
    extract_concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    expiring_soon_days: Annotated[int, Field(ge=0, le=365)] = 14
    job_launch_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 10
    # The largest request body the API reads (bytes); larger ones are refused with 413 before they are read.
    max_request_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576

    # E-mail notifications (src/notifications/mail.py) go out through this SMTP server. No host: e-mails stay in
    # the outbox unsent (never lost) until one is set; `make dev` starts a local server and sets it for its children.
    smtp_host: str | None = None
    smtp_port: Port = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "finsync <finsync@localhost>"
    # none: plain SMTP (a local server); starttls: upgrade after connecting (port 587); tls: TLS from the start (465).
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    # The local SMTP server `make dev` starts when SMTP_HOST is unset (each message saved under <data dir>/mail/).
    mailbox_port: Port = 8025

    _generated: dict[Path, str] = PrivateAttr(default_factory=dict)

    @field_validator("database_url", "test_database_url", mode="after")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalise_database_url(value).render_as_string(hide_password=False)

    @field_validator("finsync_secret_key", mode="after")
    @classmethod
    def _check_secret_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        for key in _split_keys(value.get_secret_value()):
            if not _is_fernet_key(key):  # the message never repeats the value
                raise ValueError(
                    "each comma-separated key must be 32 bytes in URL-safe base64 (make one with `finsync secrets "
                    "new-key`)"
                )
        return value

    @field_validator("gocardless_countries", mode="before")
    @classmethod
    def _split_countries(cls, value: object) -> object:
        # `GOCARDLESS_COUNTRIES=GB,DE` reads better in a .env than a JSON list.
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("gocardless_countries", mode="after")
    @classmethod
    def _check_countries(cls, value: list[str]) -> list[str]:
        countries = [country.upper() for country in value]
        for country in countries:
            if len(country) != 2 or not country.isalpha():
                raise ValueError(f"GOCARDLESS_COUNTRIES holds {country!r}, not an ISO 3166 alpha-2 code")
        return countries

    @field_validator("enablebanking_application_id", "smtp_host", "smtp_user", mode="after")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() if value is not None and value.strip() else None

    @field_validator(
        "enablebanking_private_key_file",
        "sandbox_enablebanking_public_key_file",
        "sandbox_enablebanking_private_key_file",
        mode="before",
    )
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_enablebanking(self) -> "Settings":
        has_id = self.enablebanking_application_id is not None
        has_key = self.enablebanking_private_key_file is not None
        if has_id != has_key:
            raise ValueError(
                "set both ENABLEBANKING_APPLICATION_ID and ENABLEBANKING_PRIVATE_KEY_FILE, or neither (the sandbox)"
            )
        if self.enablebanking_private_key_file is not None:
            _check_private_key_file(self.enablebanking_private_key_file, "ENABLEBANKING_PRIVATE_KEY_FILE")
        if not self.enablebanking_base_url.strip():
            self.enablebanking_base_url = (
                OFFICIAL_ENABLEBANKING_BASE_URL if has_id else f"http://127.0.0.1:{self.enablebanking_sandbox_port}"
            )
        self.enablebanking_base_url = self.enablebanking_base_url.strip().rstrip("/")
        return self

    @model_validator(mode="after")
    def _derive_and_check(self) -> "Settings":
        has_id = self.gocardless_secret_id is not None
        has_key = self.gocardless_secret_key is not None
        if has_id != has_key:
            raise ValueError("set both GOCARDLESS_SECRET_ID and GOCARDLESS_SECRET_KEY, or neither (the sandbox)")
        if self.gocardless_base_url is None:
            self.gocardless_base_url = (
                OFFICIAL_GOCARDLESS_BASE_URL if has_id else f"http://127.0.0.1:{self.sandbox_port}"
            )
        self.gocardless_base_url = self.gocardless_base_url.rstrip("/")
        if self.dagster_url is None:
            self.dagster_url = f"http://localhost:{self.dagster_port}"
        if self.public_base_url is None:
            self.public_base_url = f"http://127.0.0.1:{self.api_port}"
        self.public_base_url = self.public_base_url.rstrip("/")
        if self.frontend_url is None:
            self.frontend_url = f"{self.public_base_url}/"
        if self.finsync_env is Environment.production and self.jwt_secret is None:
            raise ValueError("JWT_SECRET is required when FINSYNC_ENV=production")
        if self.finsync_env is Environment.production and self.finsync_demo_account:
            raise ValueError("FINSYNC_DEMO_ACCOUNT is for `finsync dev` only; refused when FINSYNC_ENV=production")
        if self.finsync_env is Environment.production and self.password_hashing == "fast":  # noqa: S105
            raise ValueError("PASSWORD_HASHING=fast is for tests only; it is refused when FINSYNC_ENV=production")
        if self.finsync_env is Environment.production and self.finsync_secret_key is None:
            raise ValueError(
                "FINSYNC_SECRET_KEY is required when FINSYNC_ENV=production (make one with `finsync secrets new-key`)"
            )
        return self

    @property
    def uses_sandbox(self) -> bool:
        """True when no GoCardless credentials are set: the sandbox server stands in for GoCardless."""
        return self.gocardless_secret_id is None

    @property
    def uses_enablebanking_sandbox(self) -> bool:
        """True when no Enable Banking credentials are set: the Enable Banking sandbox stands in for it."""
        return self.enablebanking_application_id is None

    @property
    def enablebanking_sandbox_key_files(self) -> tuple[Path, Path]:
        """The sandbox's key pair (private, public): each half the operator's own when set, else where finsync
        makes its pair in the data dir (it may not exist yet: `ensure_enablebanking_sandbox_keys` makes it)."""
        directory = self.finsync_data_dir / "enablebanking"
        return (
            self.sandbox_enablebanking_private_key_file or directory / "sandbox-private.pem",
            self.sandbox_enablebanking_public_key_file or directory / "sandbox-public.pem",
        )

    @property
    def embedded_postgres_dir(self) -> Path:
        return self.finsync_data_dir / "postgres"

    @property
    def dagster_home(self) -> Path:
        return self.finsync_data_dir / "dagster"

    def get_jwt_secret(self) -> str:
        """The token signing key: JWT_SECRET, or in development one generated once into the data dir (read from
        there once per process: every authenticated request asks for it)."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return self._generated_once("jwt_secret", lambda: secrets.token_urlsafe(48))

    def get_secret_keys(self) -> list[str]:
        """The keys for provider secrets at rest, the writing one first: FINSYNC_SECRET_KEY, or in development one
        generated once into the data dir (created without a window in which another process could read it half
        written or make a second one: every process of the stack must use the same key)."""
        if self.finsync_secret_key is not None:
            return _split_keys(self.finsync_secret_key.get_secret_value())
        return [self._generated_once("secret_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())]

    def _generated_once(self, name: str, make: Callable[[], str]) -> str:
        """A development secret in the data dir: created once for every process of the stack (atomically, so two
        processes starting together agree on it) and read once per process (it is asked for on hot paths)."""
        path = self.finsync_data_dir / name
        if path not in self._generated:
            if not path.exists():
                _create_once(path, make())
            self._generated[path] = path.read_text().strip()
        return self._generated[path]


def _check_private_key_file(path: Path, variable: str) -> None:
    """A private key file must be a readable, unencrypted PEM RSA private key; the message names the variable, the
    file and what is wrong with it, never its content."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{variable} {path} cannot be read ({exc.strerror})") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{variable} {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{variable} {path} is not an RSA key (Enable Banking signs with RS256)")


def ensure_enablebanking_sandbox_keys(config: Settings) -> tuple[Path, Path]:
    """The key pair finsync signs with for the Enable Banking sandbox (private, public), made on first use.

    An operator's own sandbox key (SANDBOX_ENABLEBANKING_PUBLIC_KEY_FILE, which the sandbox reads, with
    SANDBOX_ENABLEBANKING_PRIVATE_KEY_FILE for finsync's half) is used as it is: nothing is made, and a private half
    that is missing is the start check's to report (`enablebanking_problem`). Otherwise the pair
    lives in the data dir, made once for every process of the stack: the private key is created atomically (the
    first creator wins a race), and the public key is derived from whichever private key won, so that two processes
    starting together can never end with halves of different pairs.
    """
    private_path, public_path = config.enablebanking_sandbox_key_files
    if config.sandbox_enablebanking_public_key_file is not None:
        return private_path, public_path
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _create_once(private_path, pem.decode())
    if not public_path.exists():
        private = load_pem_private_key(private_path.read_bytes(), password=None)
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _create_once(public_path, public.decode())
    return private_path, public_path


def _split_keys(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (ValueError, binascii.Error):
        return False


def _create_once(path: Path, content: str) -> None:
    """Write `path` (mode 0600) unless it exists, atomically: a temporary file linked into place, so a concurrent
    creator loses cleanly and nobody reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad variable and why, for people, not a traceback wall."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(loc) for loc in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}" if name else message)
    return "invalid configuration: " + "; ".join(parts)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


settings = load_settings()
