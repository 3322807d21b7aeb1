"""GoCardless, wired into finsync: the client built from Settings, its token pair shared through the database, and
its failures translated into answers a frontend can show. The API and the Dagster resources both come here.

Credentials: `GOCARDLESS_SECRET_ID/KEY` talk to GoCardless; without them the client talks to the sandbox with the
sandbox's credentials (Settings: `SANDBOX_SECRET_ID/KEY`, the sandbox's own defaults).

The token pair (`gc_tokens`) is shared by every process (the API, each Dagster run). `token/new` allows 100 calls an
hour for the whole company; one pair in the database means one call per refresh-token lifetime, however many
processes start. A PostgreSQL advisory lock makes "check, then obtain" atomic across processes. The store is its
own small unit of work: a token obtained must be kept even if the caller's work later rolls back. Both tokens are
stored encrypted (src/db/encryption.py, FINSYNC_SECRET_KEY). A row written before encryption, or under a key that is
no longer the first, is re-encrypted the first time it is read, only if it still holds what was read (another
process may have stored a newer pair meanwhile). A row no configured key opens counts as no pair: the next call
obtains a new one and overwrites it.

Failures during a synchronous call (the connect flow): 502 when GoCardless refused, 503 with Retry-After when it
(or the bank) is unavailable or rate-limits us. Raw httpx or provider errors never reach the error handler.
"""

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.dialects.postgresql import insert

from src.db import get_engine
from src.db.encryption import SecretBox, UndecryptableSecretError, secret_box
from src.exceptions import AppError
from src.models import GcToken
from src.providers.gocardless import errors as gc
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.tokens import TokenPair
from src.settings import Settings, settings

# -- the token pair -------------------------------------------------------------------------------------------------
log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x6663  # "fc": finsync's advisory-lock space for GoCardless tokens


def token_key(secret_id: str, base_url: str) -> str:
    """Which credentials a stored pair belongs to, without storing the secret id itself."""
    return hashlib.sha256(f"{base_url}\x1f{secret_id}".encode()).hexdigest()


class DatabaseTokenStore:
    def __init__(self, engine: Engine, key: str, box: SecretBox | None = None) -> None:
        self._engine = engine
        self._key = key
        self._lock_id = int(key[:7], 16)
        self._box = box if box is not None else secret_box(settings)

    def load(self) -> TokenPair | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(
                    GcToken.access_token, GcToken.refresh_token, GcToken.access_expires_at, GcToken.refresh_expires_at
                ).where(GcToken.key == self._key)
            ).first()
            if row is None:
                return None
            try:
                access, refresh = self._box.open(row.access_token), self._box.open(row.refresh_token)
            except UndecryptableSecretError:
                log.warning(
                    "the stored GoCardless token pair cannot be decrypted with FINSYNC_SECRET_KEY; "
                    "a new pair will be obtained (token key %s)",
                    self._key[:12],
                )
                return None
            if not (access.current and refresh.current):
                self._reseal(connection, row.access_token, row.refresh_token, access.value, refresh.value)
        return TokenPair(
            access=access.value,
            access_expires_at=row.access_expires_at,
            refresh=refresh.value,
            refresh_expires_at=row.refresh_expires_at,
        )

    def _reseal(
        self, connection: Connection, stored_access: str, stored_refresh: str, access: str, refresh: str
    ) -> None:
        connection.execute(
            update(GcToken)
            .where(
                GcToken.key == self._key,
                GcToken.access_token == stored_access,
                GcToken.refresh_token == stored_refresh,
            )
            .values(access_token=self._box.seal(access), refresh_token=self._box.seal(refresh))
        )
        connection.commit()

    def save(self, pair: TokenPair) -> None:
        values = {
            "key": self._key,
            "access_token": self._box.seal(pair.access),
            "access_expires_at": pair.access_expires_at,
            "refresh_token": self._box.seal(pair.refresh),
            "refresh_expires_at": pair.refresh_expires_at,
        }
        statement = insert(GcToken).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[GcToken.key],
            set_={name: statement.excluded[name] for name in values if name != "key"} | {"updated_at": text("now()")},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": _LOCK_NAMESPACE, "id": self._lock_id})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": _LOCK_NAMESPACE, "id": self._lock_id}
                )
                connection.commit()


@dataclass(frozen=True)
class ResealReport:
    """What `reseal_token_pairs` did: pairs re-encrypted with the first key, pairs already so, pairs no key opens."""

    resealed: int
    current: int
    unreadable: int


def reseal_token_pairs(engine: Engine, box: SecretBox) -> ResealReport:
    """Re-encrypt every stored token pair with the box's first key (after a key rotation, or to encrypt rows
    written before encryption), in one transaction. Pairs no key opens are left for the next `token/new` to
    overwrite."""
    resealed = current = unreadable = 0
    with engine.begin() as connection:
        rows = connection.execute(
            select(GcToken.key, GcToken.access_token, GcToken.refresh_token).with_for_update()
        ).all()
        for row in rows:
            try:
                access, refresh = box.open(row.access_token), box.open(row.refresh_token)
            except UndecryptableSecretError:
                unreadable += 1
                continue
            if access.current and refresh.current:
                current += 1
                continue
            connection.execute(
                update(GcToken)
                .where(GcToken.key == row.key)
                .values(access_token=box.seal(access.value), refresh_token=box.seal(refresh.value))
            )
            resealed += 1
    return ResealReport(resealed=resealed, current=current, unreadable=unreadable)


# -- the client ---------------------------------------------------------------------------------------------------
def gocardless_credentials(config: Settings) -> tuple[str, str]:
    """GoCardless's credentials when set, else the sandbox's."""
    if config.gocardless_secret_id is not None and config.gocardless_secret_key is not None:
        return config.gocardless_secret_id.get_secret_value(), config.gocardless_secret_key.get_secret_value()
    return config.sandbox_secret_id.get_secret_value(), config.sandbox_secret_key.get_secret_value()


def build_gocardless_client(config: Settings, engine: Engine, *, max_connections: int = 20) -> GoCardlessClient:
    secret_id, secret_key = gocardless_credentials(config)
    base_url = str(config.gocardless_base_url)
    return GoCardlessClient(
        base_url=base_url,
        secret_id=secret_id,
        secret_key=secret_key,
        token_store=DatabaseTokenStore(engine, token_key(secret_id, base_url)),
        max_connections=max_connections,
    )


@cache
def shared_gocardless_client() -> GoCardlessClient:
    """The API process's client: one connection pool per process, built on first use."""
    return build_gocardless_client(settings, get_engine())


# -- its failures in the API's words --------------------------------------------------------------------------------
class GoCardlessUnavailableError(AppError):
    status_code = 503
    code = "gocardless_unavailable"


class GoCardlessRefusedError(AppError):
    status_code = 502
    code = "gocardless_error"


def upstream_error(exc: gc.GoCardlessError) -> AppError:
    """The answer for a GoCardless failure during a synchronous call (the connect flow)."""
    if isinstance(exc, gc.RateLimitExceededError):
        retry = 60
        if exc.reset_at is not None:
            retry = max(1, int((exc.reset_at - datetime.now(UTC)).total_seconds()))
        return GoCardlessUnavailableError(
            "GoCardless is rate-limiting us; please try again later.", headers={"Retry-After": str(retry)}
        )
    if isinstance(exc, gc.ConnectionFailedError | gc.UpstreamServerError):
        return GoCardlessUnavailableError(
            "GoCardless or the bank is not answering right now; please try again in a minute.",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, gc.AuthenticationFailedError | gc.InvalidTokenError):
        return GoCardlessUnavailableError("finsync cannot sign in to GoCardless; the operator must check its keys.")
    detail = exc.detail or exc.summary or "GoCardless refused the request."
    return GoCardlessRefusedError(f"GoCardless refused the request: {detail}")
